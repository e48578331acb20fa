"""Best time as an experiment (#22): each account of a client company running it falls, by a stable hash of the
client company and the account reference, in the `best_time` arm (its attempts go in their best learned slot) or
the `first_slot` arm (the first slot the contact law allows, as without best time)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Literal

BestTimeArm = Literal["best_time", "first_slot"]
DEFAULT_BEST_TIME_SHARE = 0.5  # the share of accounts in the best_time arm while the experiment is on


@dataclass(frozen=True)
class Experiment:
    """A client company's best-time experiment: on or off, and the share of its accounts in the best_time arm."""

    on: bool = False
    best_time_share: float = DEFAULT_BEST_TIME_SHARE


def position(client: str, account_ref: str) -> float:
    """The account's place in [0, 1): the first 8 bytes of SHA-256 over "client/account_ref", the same in every
    process and release (Python's hash() is salted per process) and independent of the order accounts arrive in."""
    digest = hashlib.sha256(f"{client}/{account_ref}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def arm_of(client: str, account_ref: str, experiment: Experiment) -> BestTimeArm | None:
    """The account's arm; None when the client company runs no experiment (best time, or not, for every account)."""
    if not experiment.on:
        return None
    return "best_time" if position(client, account_ref) < experiment.best_time_share else "first_slot"
