"""Demo workflows (registered by default through STEPBACK_WORKFLOWS).

- `expense-approval`: a branch and a human step (a manager approves large expenses).
- `data-pipeline`: foreach with concurrency, a flaky record retried, state, a failing record.
- `order-fulfilment`: a nested workflow (`payment`, registered on its own too).
- `slow-countdown`: sleeps and a loop emitting progress, to watch live.
"""

from workflows_app.examples.expenses import expense_approval
from workflows_app.examples.orders import order_fulfilment, payment
from workflows_app.examples.pipeline import data_pipeline
from workflows_app.examples.slow import slow_countdown

__all__ = ["data_pipeline", "expense_approval", "order_fulfilment", "payment", "slow_countdown"]
