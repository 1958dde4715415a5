"""Template sync: Meta's approved templates (paged) and Twilio Content (paged) -> core."""

from __future__ import annotations

from core.model import Channel
from tests.bridges.whatsapp.conftest import bridge
from tests.fakes.graph_api import graph_error


def meta_template(name, status="APPROVED", language="en_US", body="Hi {{1}}"):
    return {"name": name, "language": language, "status": status, "category": "UTILITY",
            "id": f"id-{name}", "parameter_format": "POSITIONAL",
            "components": [{"type": "BODY", "text": body,
                            "example": {"body_text": [["Ana"]]}}]}


async def test_meta_sync_pages_and_keeps_approved_only(runtime, graph):
    graph.templates = [
        meta_template("welcome"),
        meta_template("pending_one", status="PENDING"),
        meta_template("order_update", body="Hi {{1}}, order {{2}} ships."),
        {**meta_template("shipping", body="Track {{1}}"), "components": [
            {"type": "HEADER", "format": "TEXT", "text": "Order {{1}}"},
            {"type": "BODY", "text": "Hello {{first_name}}"},
            {"type": "FOOTER", "text": "Reply STOP to opt out"},
            {"type": "BUTTONS", "buttons": [
                {"type": "URL", "text": "Track", "url": "https://shop.test/t/{{1}}"},
                {"type": "QUICK_REPLY", "text": "Stop"}]}]},
        meta_template("rejected", status="REJECTED"),
    ]
    counts = await bridge(runtime, "whatsapp_cloud").sync_templates()
    assert counts["wa"] == 3
    pages = graph.of("GET", "/message_templates")
    assert len(pages) == 3 and pages[1].query["after"] == ["c2"]
    assert all(r.headers["authorization"] == "Bearer EAAG-test-token" for r in pages)
    templates = {t.name: t for t in await runtime.inbox.templates(Channel.WHATSAPP)}
    assert set(templates) == {"welcome (en_US)", "order_update (en_US)", "shipping (en_US)"}
    order = templates["order_update (en_US)"]
    assert order.variables == ["1", "2"] and order.provider_name == "order_update"
    assert order.language == "en_US" and order.account == "wa"
    shipping = templates["shipping (en_US)"]
    assert shipping.variables == ["first_name", "header_1", "button_0_1"]
    assert "https://shop.test/t/{{button_0_1}}" in shipping.body
    # A second run updates instead of duplicating.
    await bridge(runtime, "whatsapp_cloud").sync_templates()
    assert len(await runtime.inbox.templates(Channel.WHATSAPP)) == 3


async def test_meta_sync_failure_is_logged_not_raised(runtime, graph, caplog):
    graph.fail(graph_error(190, "Session has expired", status=401))
    counts = await bridge(runtime, "whatsapp_cloud").sync_templates()
    assert "wa" not in counts and "template sync for wa failed" in caplog.text


async def test_twilio_content_sync(runtime, twilio_fake):
    def content(sid, name, body, status="approved", variables=None):
        return {"sid": sid, "account_sid": "AC" + "1" * 32, "friendly_name": name,
                "language": "en", "variables": variables or {"1": "Ana"},
                "types": {"twilio/text": {"body": body}}, "url": "x",
                "date_created": "2025-01-01T00:00:00Z", "date_updated": "2025-01-01T00:00:00Z",
                "approval_requests": {"name": name, "category": "UTILITY",
                                      "content_type": "twilio/text", "status": status,
                                      "rejection_reason": "", "allow_category_change": True}}

    twilio_fake.contents = [
        content("HX" + "1" * 32, "greeting", "Hello {{1}}"),
        content("HX" + "2" * 32, "draft", "Not yet {{1}}", status="received"),
        content("HX" + "3" * 32, "reminder", "See you {{1}} at {{2}}",
                variables={"1": "Mon", "2": "10:00"}),
    ]
    counts = await bridge(runtime, "twilio").sync_templates()
    assert counts == {"tw": 2}
    assert len(twilio_fake.of("GET", "/v1/ContentAndApprovals")) == 2
    templates = {t.name: t for t in await runtime.inbox.templates(Channel.WHATSAPP)}
    assert templates["reminder"].variables == ["1", "2"]
    assert templates["reminder"].provider_name == "HX" + "3" * 32
    assert templates["greeting"].account == "tw"


def test_phone_number_id_comes_from_the_account_not_its_phone_number():
    from core.model import Account, Channel
    from threadline.config import ThreadlineConfig
    from threadline.integrations.whatsapp_cloud import phone_number_id
    from threadline.settings import Settings

    cfg = ThreadlineConfig.model_validate({"accounts": [
        {"id": "a", "channel": "whatsapp", "provider": "whatsapp_cloud",
         "address": "+34600111222", "settings": {"WHATSAPP_CLOUD_PHONE_NUMBER_ID": "111"}},
        {"id": "b", "channel": "whatsapp", "provider": "whatsapp_cloud", "address": "222"},
        {"id": "c", "channel": "whatsapp", "provider": "whatsapp_cloud",
         "address": "+34600999888"}]})
    s = Settings(_env_file=None, WHATSAPP_CLOUD_PHONE_NUMBER_ID="333")

    def account(i, address):
        return Account(i, Channel.WHATSAPP, "whatsapp_cloud", address)

    assert phone_number_id(cfg, account("a", "+34600111222"), s) == "111"
    assert phone_number_id(cfg, account("b", "222"), s) == "222"
    assert phone_number_id(cfg, account("c", "+34600999888"), s) == "333"
