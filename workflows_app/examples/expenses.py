"""Expense approval: small expenses are approved automatically, larger ones wait for a manager.

validate -> branch(auto_approve | manager_approval, which suspends for a person) -> decide
(a map picking whichever arm ran) -> record_decision -> notify.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from engines import StepContext, Workflow, from_step, step

AUTO_APPROVE_LIMIT = 100.0
POLICY_MAXIMUM = 10_000.0


class Expense(BaseModel):
    """What an employee claims."""

    employee: str = Field(min_length=1, description="Who paid")
    amount: float = Field(gt=0, description="Amount claimed")
    currency: Literal["EUR", "USD", "GBP"] = "EUR"
    category: Literal["travel", "meals", "equipment", "other"] = "other"
    description: str = Field("", description="What it was for")


class CheckedExpense(Expense):
    """The claim after the policy checks, with the limit it was checked against."""

    auto_approve_limit: float


class ApprovalRequest(BaseModel):
    """What the manager is asked (the suspend payload)."""

    question: str
    employee: str
    amount: float
    currency: str
    category: str
    description: str


class ManagerDecision(BaseModel):
    """What the manager answers (the resume data)."""

    approved: bool = Field(description="Approve the expense?")
    comment: str = Field("", description="Shown to the employee")
    approver: str = Field(min_length=1, description="Who decided")


class Decision(BaseModel):
    """The outcome of either arm."""

    approved: bool
    approver: str
    comment: str = ""
    employee: str
    amount: float
    currency: str


class DecisionInput(BaseModel):
    """The input of `record_decision`: the decision of whichever arm ran."""

    decision: Decision


class Notification(BaseModel):
    """The message sent to the employee: the workflow's result."""

    to: str
    approved: bool
    message: str


class ExpenseState(BaseModel):
    """The run's state: the decision once recorded."""

    decision: str | None = None
    decided_by: str | None = None


@step(input_schema=Expense, output_schema=CheckedExpense)
def validate_expense(ctx: StepContext) -> CheckedExpense:
    """Apply the expense policy: a maximum per claim, a description above the automatic limit."""
    expense: Expense = ctx.input_data
    if expense.amount > POLICY_MAXIMUM:
        raise ValueError(
            f"{expense.amount:.2f} {expense.currency} exceeds the policy maximum of "
            f"{POLICY_MAXIMUM:.2f} per claim"
        )
    if expense.amount > AUTO_APPROVE_LIMIT and not expense.description.strip():
        raise ValueError("expenses above the automatic limit need a description")
    return CheckedExpense(**expense.model_dump(), auto_approve_limit=AUTO_APPROVE_LIMIT)


def is_small(ctx: StepContext) -> bool:
    """At or below the automatic approval limit."""
    return bool(ctx.input_data["amount"] <= ctx.input_data["auto_approve_limit"])


def needs_manager(ctx: StepContext) -> bool:
    """Above the automatic approval limit."""
    return not is_small(ctx)


@step(input_schema=CheckedExpense, output_schema=Decision)
def auto_approve(ctx: StepContext) -> Decision:
    """Approve a small expense without asking anyone."""
    expense: CheckedExpense = ctx.input_data
    return Decision(
        approved=True,
        approver="policy",
        comment=f"at or below {expense.auto_approve_limit:.2f}: approved automatically",
        employee=expense.employee,
        amount=expense.amount,
        currency=expense.currency,
    )


@step(
    input_schema=CheckedExpense,
    output_schema=Decision,
    suspend_schema=ApprovalRequest,
    resume_schema=ManagerDecision,
)
def manager_approval(ctx: StepContext) -> Decision:
    """Ask a manager; the run waits (suspended) until someone answers."""
    expense: CheckedExpense = ctx.input_data
    if ctx.resume_data is None:
        ctx.suspend(
            ApprovalRequest(
                question=(
                    f"Approve {expense.amount:.2f} {expense.currency} of {expense.category} "
                    f"for {expense.employee}?"
                ),
                employee=expense.employee,
                amount=expense.amount,
                currency=expense.currency,
                category=expense.category,
                description=expense.description,
            ),
            label="manager",
        )
    answer: ManagerDecision = ctx.resume_data
    return Decision(
        approved=answer.approved,
        approver=answer.approver,
        comment=answer.comment,
        employee=expense.employee,
        amount=expense.amount,
        currency=expense.currency,
    )


@step(input_schema=DecisionInput, output_schema=Decision, state_schema=ExpenseState)
def record_decision(ctx: StepContext) -> Decision:
    """Book the decision (kept in the run's state)."""
    decision: Decision = ctx.input_data.decision
    ctx.set_state(
        {
            "decision": "approved" if decision.approved else "rejected",
            "decided_by": decision.approver,
        }
    )
    return decision


@step(input_schema=Decision, output_schema=Notification)
def notify(ctx: StepContext) -> Notification:
    """Tell the employee."""
    decision: Decision = ctx.input_data
    verdict = "approved" if decision.approved else "rejected"
    message = f"Your expense of {decision.amount:.2f} {decision.currency} was {verdict}"
    message += f" by {decision.approver}"
    if decision.comment:
        message += f": {decision.comment}"
    return Notification(to=decision.employee, approved=decision.approved, message=message)


expense_approval = (
    Workflow(
        "expense-approval",
        input_schema=Expense,
        output_schema=Notification,
        state_schema=ExpenseState,
        description=(
            "Validates an expense claim, approves small amounts automatically and asks a "
            "manager (a human step) for the rest, then records the decision and notifies the "
            "employee."
        ),
    )
    .then(validate_expense)
    .branch([(is_small, auto_approve), (needs_manager, manager_approval)])
    .map({"decision": from_step([auto_approve, manager_approval])}, id="decide")
    .then(record_decision)
    .then(notify)
    .commit()
)
