"""The payment gateways a client company collects through: Wompi, Mercado Pago, PayU and Stripe (#21)."""

# domain/ holds each gateway's documented formats as pure functions; the routes and stores that use them come next.
