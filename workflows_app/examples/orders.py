"""An order workflow that embeds a payment workflow as one of its steps (nested workflows).

payment: authorize -> capture -> issue_receipt.
order-fulfilment: price_order -> payment_request (map) -> payment (nested) -> ship_order.
"""

from __future__ import annotations

import hashlib
from typing import Literal

from pydantic import BaseModel, Field

from engines import NonRetryableError, StepContext, Workflow, from_init, from_step, step


class Line(BaseModel):
    """One line of an order."""

    sku: str = Field(min_length=1)
    quantity: int = Field(ge=1)
    unit_price: float = Field(ge=0)


class Order(BaseModel):
    """An order as the shop sends it."""

    order_id: str = Field(min_length=1)
    customer: str = Field(min_length=1)
    lines: list[Line] = Field(min_length=1)
    card: str = Field("4242", description="Last digits of the card; 0000 is declined")
    shipping: Literal["standard", "express"] = "standard"


class PricedOrder(BaseModel):
    """The order with its total."""

    order_id: str
    customer: str
    items: int
    total: float


class PaymentRequest(BaseModel):
    """The input of the payment workflow."""

    order_id: str
    amount: float = Field(gt=0)
    card: str


class Authorization(BaseModel):
    """A card authorization."""

    order_id: str
    amount: float
    authorization_code: str


class Capture(BaseModel):
    """Money taken."""

    order_id: str
    amount: float
    transaction_id: str


class Receipt(BaseModel):
    """The payment workflow's result."""

    order_id: str
    amount: float
    transaction_id: str
    receipt_number: str


class Shipment(BaseModel):
    """The order workflow's result."""

    order_id: str
    customer: str
    paid: float
    receipt_number: str
    tracking_number: str
    shipping: str


def _code(*parts: object) -> str:
    # Deterministic "ids" so that demo runs and their forks can be compared field by field.
    return hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:10].upper()


class CardDeclined(NonRetryableError):
    """The card issuer said no; retrying will not change its mind."""


@step(input_schema=PaymentRequest, output_schema=Authorization)
async def authorize(ctx: StepContext) -> Authorization:
    """Reserve the amount on the card."""
    request: PaymentRequest = ctx.input_data
    if request.card == "0000":
        raise CardDeclined(f"card ending {request.card} was declined")
    return Authorization(
        order_id=request.order_id,
        amount=request.amount,
        authorization_code=_code("auth", request.order_id, request.amount),
    )


@step(input_schema=Authorization, output_schema=Capture)
async def capture(ctx: StepContext) -> Capture:
    """Take the reserved amount."""
    auth: Authorization = ctx.input_data
    return Capture(
        order_id=auth.order_id,
        amount=auth.amount,
        transaction_id=_code("txn", auth.authorization_code),
    )


@step(input_schema=Capture, output_schema=Receipt)
async def issue_receipt(ctx: StepContext) -> Receipt:
    """Number the receipt."""
    captured: Capture = ctx.input_data
    return Receipt(
        order_id=captured.order_id,
        amount=captured.amount,
        transaction_id=captured.transaction_id,
        receipt_number=f"R-{_code('receipt', captured.transaction_id)}",
    )


payment = (
    Workflow(
        "payment",
        input_schema=PaymentRequest,
        output_schema=Receipt,
        description="Authorizes a card, captures the amount and issues a receipt.",
    )
    .then(authorize)
    .then(capture)
    .then(issue_receipt)
    .commit()
)


@step(input_schema=Order, output_schema=PricedOrder)
async def price_order(ctx: StepContext) -> PricedOrder:
    """Add up the order lines."""
    order: Order = ctx.input_data
    total = round(sum(line.quantity * line.unit_price for line in order.lines), 2)
    if total <= 0:
        raise NonRetryableError(f"order {order.order_id} has nothing to pay")
    return PricedOrder(
        order_id=order.order_id,
        customer=order.customer,
        items=sum(line.quantity for line in order.lines),
        total=total,
    )


@step(input_schema=Receipt, output_schema=Shipment)
async def ship_order(ctx: StepContext) -> Shipment:
    """Hand the paid order to the carrier."""
    receipt: Receipt = ctx.input_data
    order = ctx.get_init_data()
    return Shipment(
        order_id=receipt.order_id,
        customer=order["customer"],
        paid=receipt.amount,
        receipt_number=receipt.receipt_number,
        tracking_number=f"TRK-{_code('ship', receipt.order_id, order['shipping'])}",
        shipping=order["shipping"],
    )


order_fulfilment = (
    Workflow(
        "order-fulfilment",
        input_schema=Order,
        output_schema=Shipment,
        description=(
            "Prices an order, pays for it with the nested payment workflow "
            "(authorize, capture, receipt) and ships it."
        ),
    )
    .then(price_order)
    .map(
        {
            "order_id": from_step(price_order, "order_id"),
            "amount": from_step(price_order, "total"),
            "card": from_init("card"),
        },
        id="payment_request",
    )
    .then(payment)
    .then(ship_order)
    .commit()
)
