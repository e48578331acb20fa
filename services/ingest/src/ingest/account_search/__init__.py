"""Finding a client company's accounts by reference, id number, name or phone (#23): the API and the console's pages."""
