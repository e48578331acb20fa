"""A training whose process was killed mid-training (left started, never finished) is marked failed once it has run
past the bound, saying why, and a new one is trained: on a real PostgreSQL through the model API."""

import datetime as dt

import httpx
import pytest

from recaudo_common.runtime import Platform, build_app
from segmentation import model_store
from segmentation.main import build
from segmentation.modelling import run_trainings

from .test_aging import CLIENT, LATE_EVENING, deliver

pytestmark = pytest.mark.integration
BOUND = dt.timedelta(hours=1)


async def test_a_training_left_running_is_failed_past_the_bound_and_a_new_one_runs(platform: Platform) -> None:
    await deliver(platform, [CLIENT], LATE_EVENING)
    _, operator = await platform.keys.create(role="operator", now=LATE_EVENING)
    platform.clock = lambda: LATE_EVENING  # type: ignore[method-assign]
    app = build_app(platform, [build(platform)])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http:
        as_operator = {"Authorization": f"Bearer {operator}"}
        location = (await http.post("/v1/clients/banco/model/train", headers=as_operator)).headers["Location"]
        # A replica claims it and is killed before finishing: the row says running, and nothing will finish it.
        async with platform.db.transaction() as s:
            assert await model_store.claim_training(s, LATE_EVENING) is not None
        assert (await http.get(location, headers=as_operator)).json()["state"] == "running"

        # Within the bound it may still be training somewhere: left alone.
        assert await run_trainings(platform.db, now=LATE_EVENING + BOUND - dt.timedelta(minutes=1), bound=BOUND) == []
        assert (await http.get(location, headers=as_operator)).json()["state"] == "running"

        later = LATE_EVENING + BOUND + dt.timedelta(minutes=1)
        assert await run_trainings(platform.db, now=later, bound=BOUND) == []
        stuck = (await http.get(location, headers=as_operator)).json()
        assert (stuck["state"], stuck["outcome"]) == ("finished", "failed"), stuck
        assert stuck["detail"] == ("abandoned: started at 2026-04-01T04:30:00Z and not finished within 60 minutes "
                                   "(its process stopped); ask for a new training")
        assert dt.datetime.fromisoformat(stuck["finished_at"]) == later

        again = await http.post("/v1/clients/banco/model/train", headers=as_operator)
        assert again.status_code == 202
        ran = await run_trainings(platform.db, now=later, bound=BOUND)
        assert [t.id for t in ran] == [again.json()["id"]]
        # No history to learn from yet: it finishes and says so (it no longer waits behind the abandoned one).
        fresh = (await http.get(again.headers["Location"], headers=as_operator)).json()
        assert (fresh["state"], fresh["outcome"]) == ("finished", "not_enough_history"), fresh
        # The abandoned one keeps its outcome: a later pass marks nothing again.
        assert (await http.get(location, headers=as_operator)).json() == stuck
