"""E-mail unsubscribes (RFC 8058 one-click and its page in Spanish) and the addresses mail servers refused."""
