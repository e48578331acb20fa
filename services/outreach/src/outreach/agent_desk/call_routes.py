"""The agent desk's route for the call an agent was handed: still theirs, logged, or withdrawn (409
call_withdrawn, with why) since a fact that always blocks arrived. The page asks it while the call is on screen."""

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict

from outreach.agent_desk.calls import current_call
from recaudo_common.auth import Principal
from recaudo_common.dependencies import AGENT_DESK, PlatformDep, caller_with
from recaudo_common.routing import AuthorisedFirstRoute


class HandedOutCallOut(BaseModel):
    """v1: a call /v1/agent/next handed out, as it stands (a withdrawn one answers 409 call_withdrawn instead)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "attempt_id": "0f8c2a4e-6b1d-4c3e-9a57-2d8e1f4b7c90", "account_ref": "CR-2024-000187",
        "status": "assigned"}]})
    attempt_id: uuid.UUID
    account_ref: str
    status: Literal["assigned", "logged"]


router = APIRouter(route_class=AuthorisedFirstRoute, prefix="/v1", tags=["outreach"])
# The call's company is in the query, as /v1/agent/next's: the role is checked first, the company once it is read.
DeskStaff = Annotated[Principal, Depends(caller_with(*AGENT_DESK))]


@router.get("/agent/calls/{attempt_id}", response_model=HandedOutCallOut, responses={
    409: {"description": "call_withdrawn: the call was withdrawn (a recall, the account paid or settled, an opt-out, "
                         "the do-not-contact list, a legal hold); `errors[0].reason` says which"}})
async def handed_out_call(attempt_id: uuid.UUID, principal: DeskStaff, platform: PlatformDep,
                          client: str = Query(min_length=1, max_length=100)) -> HandedOutCallOut:
    """The call handed out, checked again against the rules that always block: one they now block is withdrawn
    and answered 409 `call_withdrawn`; 404 for a call the desk never handed out (or another company's)."""
    principal.require_client(client, roles=AGENT_DESK)
    call = await current_call(platform.db, client=client, attempt_id=attempt_id, now=platform.clock())
    return HandedOutCallOut(attempt_id=call.attempt_id, account_ref=call.account_ref,
                            status="logged" if call.logged else "assigned")
