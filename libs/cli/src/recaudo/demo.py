"""Demo data for `make run`: two client companies in two countries, portfolios, payments over time.

Everything goes through the public HTTP API with real keys, as a client company's systems would.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import uuid
from decimal import Decimal

import httpx

DEMO_CLIENTS = [
    {"slug": "banco-andino", "name": "Banco Andino S.A.", "country": "CO", "currency": "COP",
     "timezone": "America/Bogota", "locale": "es-CO"},
    {"slug": "telco-azteca", "name": "Telco Azteca S.A. de C.V.", "country": "MX", "currency": "MXN",
     "timezone": "America/Mexico_City", "locale": "es-MX"},
]
FIRST = ["Ana", "Luis", "María", "José", "Camila", "Andrés", "Lucía", "Jorge", "Sofía", "Diego", "Valentina",
         "Carlos", "Daniela", "Juan", "Paula", "Mateo"]
LAST = ["Gómez", "Rodríguez", "Martínez", "López", "García", "Hernández", "Pérez", "Sánchez", "Ramírez", "Torres",
        "Díaz", "Vargas", "Castro", "Rojas", "Muñoz", "Ortiz"]
PRODUCTS = ["tarjeta de crédito", "libranza", "crédito de consumo", "microcrédito", "plan postpago"]


def ground_truth_propensity(days_past_due: int, balance: Decimal, contactable: bool) -> float:
    """The hidden truth of the demo world: who really pays within 30 days. Unlike the cold-start scorecard,
    large balances here pay more (secured and payroll loans), so a model trained on outcomes must learn it."""
    import math

    logit = 1.2 - 0.011 * max(days_past_due, 0) + 0.9 * (math.log1p(float(balance)) - math.log(1_000_000)) + \
        (0.8 if contactable else -0.8)
    return 1.0 / (1.0 + math.exp(-logit))


def _amount(value: Decimal, locale: str) -> str:
    text = f"{value:,.2f}"
    if locale in ("es-CO", "es-AR", "es-CL"):
        text = text.replace(",", "_").replace(".", ",").replace("_", ".")
    return text


def portfolio_csv(client: dict[str, str], n: int, *, today: dt.date, seed: int
                  ) -> tuple[bytes, list[tuple[str, float]]]:
    """A semicolon CSV with Spanish headers, as a bank's core system exports it, and each account's hidden
    probability of paying (who pays in the demo follows it)."""
    rnd = random.Random(seed)
    country = client["country"]
    lines = ["Número Obligación;Cédula;Nombre Completo;Celular;Correo;Ciudad;Producto;Saldo Total;"
             "Fecha Vencimiento;Canales Autorizados"]
    refs = []
    for i in range(n):
        ref = f"{client['slug'][:3].upper()}-{100000 + i}"
        dpd = int(rnd.choice([rnd.randint(-10, 0), rnd.randint(1, 30), rnd.randint(31, 90), rnd.randint(91, 180),
                              rnd.randint(181, 720)]))
        due = today - dt.timedelta(days=dpd)
        balance = Decimal(rnd.randint(50_000, 8_000_000) if country == "CO" else rnd.randint(500, 90_000))
        phone = f"3{rnd.choice(['00', '01', '10', '12', '15', '20', '23', '50'])}{rnd.randint(1000000, 9999999)}" \
            if country == "CO" \
            else f"55{rnd.randint(10000000, 99999999)}"
        name = f"{rnd.choice(FIRST)} {rnd.choice(LAST)} {rnd.choice(LAST)}"
        refs.append((ref, ground_truth_propensity(dpd, balance, True)))
        lines.append(";".join([
            ref, str(rnd.randint(10_000_000, 1_099_999_999)), name, phone,
            f"deudor{i}@correo.example", "Bogotá" if country == "CO" else "Ciudad de México",
            rnd.choice(PRODUCTS), _amount(balance, client["locale"]), due.strftime("%d/%m/%Y"),
            "sms,email,whatsapp",
        ]))
    return ("\n".join(lines) + "\n").encode("utf-8"), refs


async def load(base_url: str, operator_key: str, *, accounts_per_client: int,
               today: dt.date) -> dict[str, list[tuple[str, float]]]:
    """Creates the demo clients (if missing) and uploads their portfolios; returns account refs by client."""
    headers = {"Authorization": f"Bearer {operator_key}"}
    refs: dict[str, list[tuple[str, float]]] = {}
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=60) as http:
        for i, client in enumerate(DEMO_CLIENTS):
            created = await http.post("/v1/clients", json=client)
            if created.status_code not in (201, 409):
                raise RuntimeError(f"could not create demo client: {created.status_code} {created.text}")
            content, refs[client["slug"]] = portfolio_csv(client, accounts_per_client, today=today, seed=i)
            upload = await http.post(f"/v1/clients/{client['slug']}/portfolios",
                                     files={"file": ("cartera.csv", content, "text/csv")},
                                     data={"as_of": today.isoformat()})
            upload.raise_for_status()
            portfolio_id = upload.json()["id"]
            for _ in range(600):
                status = (await http.get(f"/v1/portfolios/{portfolio_id}")).json()
                if status["status"] in ("completed", "failed"):
                    break
                await asyncio.sleep(0.2)
    return refs


async def pay_over_time(base_url: str, operator_key: str, refs: dict[str, list[tuple[str, float]]], *,
                        stop: asyncio.Event,
                        every_s: float = 1.0, seed: int = 7) -> None:
    """Posts a few manual payments every second, as cashiers would, until stopped; who pays is drawn by the
    hidden ground-truth propensity, so the outcomes are there for the model to learn from."""
    rnd = random.Random(seed)
    headers = {"Authorization": f"Bearer {operator_key}"}
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=30) as http:
        while not stop.is_set():
            for _ in range(3):
                slug = rnd.choice(list(refs))
                amount = Decimal(rnd.randint(20_000, 400_000) if slug == "banco-andino" else rnd.randint(200, 4000))
                payer = rnd.choices(refs[slug], weights=[w for _, w in refs[slug]])[0][0]
                body = {"account_ref": payer, "amount": str(amount),
                        "paid_at": dt.datetime.now(dt.UTC).isoformat(), "method": "cash"}
                await http.post(f"/v1/clients/{slug}/payments", json=body,
                                headers={"Idempotency-Key": str(uuid.uuid4())})
            try:
                await asyncio.wait_for(stop.wait(), every_s)
            except TimeoutError:
                pass
