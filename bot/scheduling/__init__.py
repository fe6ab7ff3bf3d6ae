"""The delivery engine: when things are due (pure), and the outbox that sends them.

Pure, no Telegram and no database: `clock`, `local_times`, `kinds`, `errors`.
The outbox: `planner` (creates Delivery rows), `dispatcher` (claims, renders, sends,
records), `rendering` (kind -> renderer registry), `program_cron` (program-level times),
`heartbeat`, `stats`. Only `telegram_sender` speaks Telegram.
"""
