"""How a payment was made, in the platform's closed vocabulary: what `payment.applied` says instead of the words its
source gave (an operator's, a bank file's or a gateway's), which may name or reach anyone and would stay on the
payment topic and its dead letters, where no erasure reaches."""

from __future__ import annotations

import re
import unicodedata
from typing import Literal, get_args

PaymentMethod = Literal[
    "card",             # credit, debit or prepaid card
    "bank_transfer",    # from the payer's bank account: a transfer, PSE, SPEI, a bank debit
    "bank_deposit",     # paid in at a bank's counter into the client company's account (consignación)
    "bank_collection",  # paid at a bank under the client company's collection agreement (Asobancaria recaudo)
    "cash",             # cash at a till or a cash network (Efecty, Baloto, OXXO, a bank agent)
    "cheque",
    "wallet",           # a wallet's balance (Nequi, Daviplata, Mercado Pago's account money)
    "other",            # anything else, or words not recognised
]
PAYMENT_METHODS: tuple[PaymentMethod, ...] = get_args(PaymentMethod)

# The words the sources send today, normalised (see _normalised), and what each means. Unknown words are `other`.
_KNOWN: dict[str, PaymentMethod] = {
    **{m: m for m in PAYMENT_METHODS},
    # The console's payment form (ingest console account.html) and operators' usual words.
    "consignacion": "bank_deposit", "consignacion_bancaria": "bank_deposit", "deposito": "bank_deposit",
    "transferencia": "bank_transfer", "transferencia_bancaria": "bank_transfer", "transfer": "bank_transfer",
    "efectivo": "cash", "efectivo_en_caja": "cash", "caja": "cash", "check": "cheque", "otro": "other",
    "tarjeta": "card", "tarjeta_credito": "card", "tarjeta_de_credito": "card", "tarjeta_debito": "card",
    "tarjeta_de_debito": "card",
    # Wompi's transaction.payment_method_type.
    "nequi": "wallet", "daviplata": "wallet", "pse": "bank_transfer", "bancolombia_transfer": "bank_transfer",
    "bancolombia_qr": "bank_transfer", "bancolombia_collect": "cash",
    # Mercado Pago's payment_type_id.
    "credit_card": "card", "debit_card": "card", "prepaid_card": "card", "voucher_card": "card", "ticket": "cash",
    "atm": "cash", "account_money": "wallet", "digital_wallet": "wallet",
    # PayU's payment_method_name.
    "visa": "card", "visa_debit": "card", "mastercard": "card", "mastercard_debit": "card", "amex": "card",
    "diners": "card", "codensa": "card", "efecty": "cash", "baloto": "cash", "su_red": "cash",
    "others_cash": "cash", "others_cash_mx": "cash", "pagoefectivo": "cash", "oxxo": "cash", "seven_eleven": "cash",
    "bank_referenced": "bank_collection", "spei": "bank_transfer",
    # Stripe's payment_method_types.
    "konbini": "cash", "boleto": "cash", "customer_balance": "bank_transfer", "us_bank_account": "bank_transfer",
    "sepa_debit": "bank_transfer", "link": "card", "cashapp": "wallet", "paypal": "wallet",
}

# Every word a source uses for a method (normalised): a method given in other words is free text, which may name
# the payer (payments' erasure replaces it, and its access answer shows it).
KNOWN_METHOD_WORDS = frozenset(_KNOWN)


def _normalised(words: str) -> str:
    plain = unicodedata.normalize("NFKD", words).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "_", plain.lower()).strip("_")


def payment_method_of(words: str | None) -> PaymentMethod | None:
    """The method that a source's words for it mean: a known word (any case, accents, spaces or hyphens) its
    method, any other text `other` (never passed on), nothing (None or blank) None."""
    if words is None or not words.strip():
        return None
    return _KNOWN.get(_normalised(words), "other")
