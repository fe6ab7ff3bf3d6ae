"""The daily check-in\x27s pure core: questions, rules, trends and charts (no Telegram)."""
