"""The payment gateways a client company collects through (Wompi, Mercado Pago, PayU, Stripe), each as it documents
its notifications and signatures; `domain/` holds the pure formats, the wiring (routes, stores) comes later (#21)."""
