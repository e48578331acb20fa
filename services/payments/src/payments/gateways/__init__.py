"""The payment gateways a client company collects through: Wompi, Mercado Pago, PayU and Stripe (#21)."""

# domain/ holds each gateway's documented formats as pure functions; store, handlers, booking, lookups and routes
# wire them: accounts per client company and their notifications into the ledger.
