"""Notify's configuration from the environment (WANQING_NOTIFY_...); an empty channel setting disables it."""

from __future__ import annotations

from datetime import time
from zoneinfo import ZoneInfo

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.notify.quiet_hours import QuietHours


class NotifySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="WANQING_NOTIFY_", env_file=None, extra="ignore")

    smtp_host: str = ""
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_from: str = "wanqing@localhost"
    smtp_username: str = ""
    smtp_password: SecretStr = SecretStr("")
    smtp_starttls: bool = False
    wecom_webhook_url: str = ""  # https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=...
    sms_gateway_url: str = ""
    sms_token: SecretStr = SecretStr("")
    timeout_s: float = Field(default=10.0, gt=0)
    timezone: str = "Asia/Shanghai"
    quiet_start: time = time(21, 0)
    quiet_end: time = time(8, 0)
    digest_hour: int = Field(default=8, ge=0, le=23)
    max_attempts: int = Field(default=8, ge=1)
    backoff_base_s: float = Field(default=30.0, gt=0)
    backoff_cap_s: float = Field(default=3600.0, gt=0)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def quiet_hours(self) -> QuietHours:
        return QuietHours(self.quiet_start, self.quiet_end, self.tz)
