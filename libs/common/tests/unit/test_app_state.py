"""What a unit put on app.state reaches its routes through one dependency, checked for its kind."""

from dataclasses import dataclass

import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient

from recaudo_common.dependencies import from_app_state

pytestmark = pytest.mark.unit


@dataclass(frozen=True)
class Limits:
    max_rows: int


def test_a_route_gets_what_main_put_on_app_state_and_a_wrong_kind_is_a_defect_not_a_silent_any() -> None:
    app = FastAPI()
    get_limits = from_app_state("limits", Limits)

    @app.get("/limits")
    async def limits(found: Limits = Depends(get_limits)) -> dict[str, int]:
        return {"max_rows": found.max_rows}

    app.state.limits = Limits(max_rows=7)
    assert TestClient(app).get("/limits").json() == {"max_rows": 7}
    app.state.limits = {"max_rows": 7}
    with pytest.raises(TypeError, match=r"app\.state\.limits is a dict, not a Limits"):
        TestClient(app).get("/limits")
