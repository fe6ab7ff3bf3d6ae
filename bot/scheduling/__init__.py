"""The delivery engine: when things are due, and the outbox that sends them.

Pure (no Telegram, no database): `clock`, `local_times`, `kinds`, `errors`.
The outbox: `planner` (creates Delivery rows from clients' schedules), `program_cron`
(program-level times such as digests), `outbox` (the claim and fenced writes),
`dispatcher` (claims, renders, sends, records), `rendering` (kind -> renderer),
`builtin_kinds` (check-in prompt, nudge, alert), `engine` (one worker's tick),
`heartbeat` and `stats` (for `python -m bot health` and `deliveries`).
Only `telegram_sender` imports python-telegram-bot.
"""
