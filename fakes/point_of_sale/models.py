"""The request bodies the point of sale accepts (strict: unknown fields are refused)."""

from __future__ import annotations

from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

_STRICT = ConfigDict(extra="forbid", strict=True, frozen=True)


class OrderItem(BaseModel):
    """One line of an order."""

    model_config = _STRICT

    name: str = Field(min_length=1, max_length=200)
    quantity: int = Field(gt=0, le=100)


class OrderRequest(BaseModel):
    """The body of ``POST /orders``."""

    model_config = _STRICT

    order_id: str = Field(alias="orderId", min_length=1, max_length=200)
    restaurant_id: str = Field(alias="restaurantId", min_length=1, max_length=200)
    items: list[OrderItem] = Field(min_length=1, max_length=100)
    callback_url: str = Field(alias="callbackUrl", max_length=2000)

    @field_validator("callback_url")
    @classmethod
    def _http_url(cls, url: str) -> str:
        parts = urlsplit(url)
        if parts.scheme not in {"http", "https"} or not parts.netloc:
            raise ValueError("must be an absolute http(s) URL")
        return url


class AcceptRequest(BaseModel):
    """The body of ``POST /orders/{orderId}/accept``."""

    model_config = _STRICT

    prep_minutes: int = Field(alias="prepMinutes", ge=1, le=240)


class RejectRequest(BaseModel):
    """The body of ``POST /orders/{orderId}/reject``."""

    model_config = _STRICT

    reason: str = Field(min_length=1, max_length=500)
