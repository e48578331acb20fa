"""Bank statements reconciled: each row's payment applied at most once, the file's results kept."""
