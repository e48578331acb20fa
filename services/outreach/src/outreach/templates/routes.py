"""Templates' routes: a client company's templates with their rendering on a sample account, a template not saved yet
rendered for a preview, and saving one."""

from typing import Literal, cast

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonDict

from outreach.domain.templates import VARIABLES
from outreach.domain.whatsapp_window import ApprovedTemplate
from outreach.edge import ClientOfCaller, Settings
from outreach.templates import handlers, whatsapp
from recaudo_common.dependencies import PlatformDep
from recaudo_common.events import Channel
from recaudo_common.preconditions import IfMatchHeader
from recaudo_common.routing import AuthorisedFirstRoute

SMS_TEMPLATE: JsonDict = {
    "body": "{{ creditor }}: {{ debtor_name }}, su obligación {{ account_ref }} tiene un saldo de {{ balance }}. "
            "{{ offer }}Pague o acuerde aquí: {{ payment_link }} {{ opt_out }}"}
EMAIL_TEMPLATE: JsonDict = {
    "subject": "{{ creditor }}: su obligación {{ account_ref }} tiene {{ days_past_due }} días de mora",
    "body": "Estimado(a) {{ debtor_name }}:\n\nSu obligación {{ account_ref }} registra un saldo de {{ balance }}.\n"
            "{{ offer }}\nPague o acuerde una fecha aquí: {{ payment_link }} (vence el {{ link_expires }}).\n\n"
            "{{ opt_out }}"}


class TemplateIn(BaseModel):
    """v1"""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [SMS_TEMPLATE, EMAIL_TEMPLATE]})
    subject: str | None = Field(None, max_length=500)
    body: str = Field(min_length=1, max_length=20_000)


class PreviewOut(BaseModel):
    """v1: a template rendered on the sample account; `encoding` and `segments` (SMS only) say its parts."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "subject": "Banco Andino: su obligación OBL-000123", "body": "Estimado(a) María: su saldo es "
        "$ 1.234.567,89. Pague aquí: https://pagos.recaudo.example/pay/EJEMPLO"}]})
    subject: str | None = None
    body: str
    encoding: str | None = None
    segments: int | None = None


class PreviewProblemOut(BaseModel):
    code: str = Field(description="invalid_template or template_too_expensive")
    detail: str


class TemplatePreviewIn(BaseModel):
    """v1: a template not saved yet, to render on the sample account (a console's live preview)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"channel": "sms", "locale": "es-CO",
         "body": "{{ creditor }}: {{ debtor_name }}, su saldo es {{ balance }}. Pague aquí: {{ payment_link }} "
                 "{{ opt_out }}"}]})
    channel: Channel
    locale: str = Field(min_length=2, max_length=16, examples=["es-CO"])
    subject: str | None = Field(None, max_length=500)
    body: str = Field(min_length=1, max_length=20_000)


# The examples' templates rendered on the sample account (templates.handlers.sample) of Banco Andino S.A.
EMAIL_TEMPLATE_OUT: JsonDict = {
    "channel": "email", "locale": "es-CO", "source": "client", "version": 3, **EMAIL_TEMPLATE,
    "variables": dict(VARIABLES),
    "preview": {"subject": "Banco Andino S.A.: su obligación OBL-000123 tiene 45 días de mora",
                "body": "Estimado(a) María:\n\nSu obligación OBL-000123 registra un saldo de $1.234.567,89.\nCancele "
                        "hoy con $987.654,31 (20 % de descuento). \nPague o acuerde una fecha aquí: "
                        "https://pagos.recaudo.example/pay/EJEMPLO (vence el 11 de diciembre de 2026).\n\nResponda "
                        "BAJA para no recibir más mensajes.", "encoding": None, "segments": None},
    "preview_problem": None}
SMS_TEMPLATE_OUT: JsonDict = {
    "channel": "sms", "locale": "es-CO", "source": "default", "version": None, "subject": None, **SMS_TEMPLATE,
    "variables": dict(VARIABLES),
    "preview": {"subject": None,
                "body": "Banco Andino S.A.: María, su obligación OBL-000123 tiene un saldo de $1.234.567,89. Cancele "
                        "hoy con $987.654,31 (20 % de descuento). Pague o acuerde aquí: "
                        "https://pagos.recaudo.example/pay/EJEMPLO Responda BAJA para no recibir más mensajes.",
                "encoding": "UCS-2", "segments": 4},
    "preview_problem": None}


class TemplateOut(BaseModel):
    """v1: a template and its rendering for a sample account (SMS parts shown before anything is sent). A stored
    template that no longer renders has no preview but a `preview_problem` saying why."""

    model_config = ConfigDict(json_schema_extra={"examples": [EMAIL_TEMPLATE_OUT]})

    channel: Channel
    locale: str
    source: Literal["client", "default"]
    version: int | None
    subject: str | None
    body: str
    variables: dict[str, str]
    preview: PreviewOut | None
    preview_problem: PreviewProblemOut | None = None

    @classmethod
    def of(cls, view: handlers.TemplateView) -> "TemplateOut":
        template, rendered, problem = view.template, view.rendered, view.problem
        return cls(
            # The channel was a Channel when the template was asked for or saved.
            channel=cast(Channel, template.channel), locale=template.locale,
            source="client" if view.own else "default", version=view.own.version if view.own else None,
            subject=template.subject, body=template.body, variables=VARIABLES,
            preview=PreviewOut(subject=rendered.subject, body=rendered.body, encoding=rendered.encoding,
                               segments=rendered.segments) if rendered else None,
            preview_problem=PreviewProblemOut(code=problem.code, detail=str(problem)) if problem else None)


class TemplateList(BaseModel):
    """v1: the client company's templates, each channel's in its locale and any other locale it has its own for."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [SMS_TEMPLATE_OUT, EMAIL_TEMPLATE_OUT]}]})
    items: list[TemplateOut]


router = APIRouter(route_class=AuthorisedFirstRoute, prefix="/v1", tags=["outreach"])


@router.get("/clients/{slug}/templates", response_model=TemplateList)
async def list_templates(client: ClientOfCaller, platform: PlatformDep, settings: Settings) -> TemplateList:
    """Every channel's template in the client company's locale, and any other locale it has its own for."""
    views = await handlers.list_templates(platform.db, settings, client=client, now=platform.clock())
    return TemplateList(items=[TemplateOut.of(v) for v in views])


@router.post("/clients/{slug}/templates/preview", response_model=PreviewOut, responses={
    422: {"description": "invalid_template (syntax, an unknown variable, a missing opt-out line, an unknown "
                         "locale) or template_too_expensive: the reason a save would be refused"}})
async def preview_template(body: TemplatePreviewIn, client: ClientOfCaller, platform: PlatformDep,
                           settings: Settings) -> PreviewOut:
    """Renders a template that is not saved, on the sample account (no debtor's data), with every check a save
    runs and the renderer that sends; nothing is stored. The console's editor calls it as one types."""
    rendered = await handlers.preview_template(settings, client=client, channel=body.channel, locale=body.locale,
                                               subject=body.subject, body=body.body, now=platform.clock())
    return PreviewOut(subject=rendered.subject, body=rendered.body, encoding=rendered.encoding,
                      segments=rendered.segments)


@router.get("/clients/{slug}/templates/{channel}/{locale}", response_model=TemplateOut)
async def get_template(slug: str, channel: Channel, locale: str, client: ClientOfCaller, platform: PlatformDep,
                       settings: Settings, response: Response) -> TemplateOut:
    """The template in force (the client company's own or the default), its `ETag` to send back as `If-Match`."""
    found = await handlers.get_template(platform.db, settings, client=client, channel=channel, locale=locale,
                                        now=platform.clock())
    response.headers["ETag"] = handlers.template_etag(found.template, found.own)
    return TemplateOut.of(found)


@router.put("/clients/{slug}/templates/{channel}/{locale}", response_model=TemplateOut, responses={
    412: {"description": "precondition_failed: If-Match names a template no longer in force"}})
async def put_template(slug: str, channel: Channel, locale: str, body: TemplateIn, client: ClientOfCaller,
                       platform: PlatformDep, settings: Settings, if_match: IfMatchHeader,
                       response: Response) -> TemplateOut:
    """Saves the client company's template once it has passed, before anything is stored: syntax, known
    variables, the opt-out line where the law asks for it, and its rendering on a sample account within the
    render budget (`template_too_expensive` otherwise). The answer shows the rendering and its SMS parts."""
    saved = await handlers.save_template(platform.db, settings, client=client, channel=channel, locale=locale,
                                         subject=body.subject, body=body.body, now=platform.clock(),
                                         if_match=if_match)
    response.headers["ETag"] = handlers.template_etag(saved.template, saved.own)
    return TemplateOut.of(saved)


class ApprovedTemplateIn(BaseModel):
    """v1: the client company's WhatsApp template as Meta approved it, for one locale: `name` and `language`
    (e.g. "es", "es_MX") as in WhatsApp Manager; `parameters`, the variables (see a template's `variables`) that
    fill its body's {{1}}, {{2}}, ... in order; `buttons`, the collection choice of each quick-reply button in
    order (pay, arrange, dispute, opt_out), each sent as that button's payload."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "name": "recordatorio_mora_v2", "language": "es", "parameters": ["debtor_name", "balance", "account_ref"],
        "buttons": ["pay", "arrange", "opt_out"]}]})
    name: str = Field(min_length=1, max_length=512)
    language: str = Field(min_length=2, max_length=16)
    parameters: list[str] = Field(default_factory=list, max_length=20)
    buttons: list[str] = Field(default_factory=list, max_length=10)

    def to_domain(self) -> ApprovedTemplate:
        return ApprovedTemplate(self.name, self.language, tuple(self.parameters), tuple(self.buttons))


class ApprovedTemplateOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "locale": "es-CO", "name": "recordatorio_mora_v2", "language": "es",
        "parameters": ["debtor_name", "balance", "account_ref"], "buttons": ["pay", "arrange", "opt_out"]}]})
    locale: str
    name: str
    language: str
    parameters: list[str]
    buttons: list[str]

    @classmethod
    def of(cls, locale: str, t: ApprovedTemplate) -> "ApprovedTemplateOut":
        return cls(locale=locale, name=t.name, language=t.language, parameters=list(t.parameters),
                   buttons=list(t.buttons))


@router.get("/clients/{slug}/templates/whatsapp/{locale}/approved", response_model=ApprovedTemplateOut)
async def get_approved_template(slug: str, locale: str, client: ClientOfCaller,
                                platform: PlatformDep) -> ApprovedTemplateOut:
    """The WhatsApp template approved by Meta that opens a conversation outside the 24-hour window."""
    return ApprovedTemplateOut.of(locale, await whatsapp.get_approved(platform.db, client=client, locale=locale))


@router.put("/clients/{slug}/templates/whatsapp/{locale}/approved", response_model=ApprovedTemplateOut)
async def put_approved_template(slug: str, locale: str, body: ApprovedTemplateIn, client: ClientOfCaller,
                                platform: PlatformDep) -> ApprovedTemplateOut:
    """Saves the mapping of the client company's approved WhatsApp template for a locale (checked first: Meta's
    name and language forms, known variables, known buttons)."""
    saved = await whatsapp.save_approved(platform.db, client=client, locale=locale, template=body.to_domain(),
                                         now=platform.clock())
    return ApprovedTemplateOut.of(locale, saved)
