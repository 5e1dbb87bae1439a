import ssl

import pytest
from faststream.security import SASLScram512

from v2v_runtime.consumer import security
from v2v_runtime.settings import RuntimeSettings


def test_plaintext_by_default() -> None:
    opts = RuntimeSettings().kafka_options()
    assert opts == {"security_protocol": "PLAINTEXT"}
    assert security(opts) is None


@pytest.mark.requirement("21CFR11.30")
def test_sasl_ssl_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("V2V_KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.setenv("V2V_KAFKA_SASL_MECHANISM", "SCRAM-SHA-512")
    monkeypatch.setenv("V2V_KAFKA_SASL_USERNAME", "v2v-custody")
    monkeypatch.setenv("V2V_KAFKA_SASL_PASSWORD", "s3cret")
    settings = RuntimeSettings()
    assert "s3cret" not in repr(settings)  # a secret is never printed
    opts = settings.kafka_options()
    assert opts["sasl_plain_password"] == "s3cret"
    assert isinstance(opts["ssl_context"], ssl.SSLContext)
    sec = security(opts)
    assert isinstance(sec, SASLScram512)
    assert sec.use_ssl


def test_sasl_without_credentials_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("V2V_KAFKA_SECURITY_PROTOCOL", "SASL_PLAINTEXT")
    with pytest.raises(ValueError, match="V2V_KAFKA_SASL_MECHANISM"):
        RuntimeSettings().kafka_options()


def test_unknown_protocol_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("V2V_KAFKA_SECURITY_PROTOCOL", "KERBEROS")
    with pytest.raises(ValueError, match="security_protocol"):
        RuntimeSettings()
