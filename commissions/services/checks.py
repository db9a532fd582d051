"""Invariants of the creators' ledger and statements (run by `manage.py ledger_check`, the tests
and the settlement benchmark). Each query returns the rows that break a rule; none is good."""
from django.db import connection

CHECKS = [
    ("entries that do not balance",
     "SELECT e.key FROM commissions_journalentry e LEFT JOIN commissions_posting p ON p.entry_id = e.id "
     "GROUP BY e.id HAVING count(p.id) < 2 OR sum(p.amount) <> 0 "
     "OR sum(p.amount) FILTER (WHERE p.account = 'creator') <> -e.amount"),
    ("accrual and clawback entries that differ from their commission lines",
     "SELECT e.key FROM commissions_journalentry e LEFT JOIN commissions_commissionline l ON l.entry_id = e.id "
     "WHERE e.kind IN ('accrual', 'clawback') GROUP BY e.id HAVING coalesce(sum(l.amount), 0) <> e.amount OR count(l.id) = 0"),
    ("commission lines whose creator, order or statement is missing",
     "SELECT l.id FROM commissions_commissionline l LEFT JOIN creators_creator c ON c.id = l.creator_id "
     "LEFT JOIN orders_order o ON o.id = l.order_id LEFT JOIN commissions_statement s ON s.id = l.statement_id "
     "JOIN orders_orderline ol ON ol.id = l.order_line_id "
     "WHERE c.id IS NULL OR o.id IS NULL OR ol.order_id <> l.order_id OR (l.statement_id IS NOT NULL AND s.id IS NULL)"),
    ("margin-plan accruals that are not their sales less the plan price",
     "SELECT id FROM commissions_commissionline WHERE kind = 'accrual' AND (rate_source = 'margin') <> (plan_price IS NOT NULL) "
     "OR (plan_price IS NOT NULL AND kind = 'accrual' AND amount <> greatest(base - plan_price * units, 0))"),
    ("seller-paid lines missing from the ledger, or platform-paid lines in it",
     "SELECT id FROM commissions_commissionline WHERE (entry_id IS NULL) <> platform_paid"),
    ("creators whose ledger balance is not lines + adjustments − payouts",
     "WITH ledger AS (SELECT creator_id, currency, -sum(amount) AS owed FROM commissions_posting WHERE account = 'creator' GROUP BY 1, 2), "
     "lines AS (SELECT creator_id, currency, sum(amount) AS s FROM commissions_commissionline WHERE NOT platform_paid GROUP BY 1, 2), "
     "adj AS (SELECT creator_id, currency, sum(amount) AS s FROM commissions_adjustment GROUP BY 1, 2), "
     "paid AS (SELECT creator_id, currency, sum(payout_due) AS s FROM commissions_statement WHERE status = 'paid' GROUP BY 1, 2), "
     "k AS (SELECT creator_id, currency FROM ledger UNION SELECT creator_id, currency FROM lines UNION SELECT creator_id, currency FROM adj) "
     "SELECT k.creator_id FROM k LEFT JOIN ledger USING (creator_id, currency) LEFT JOIN lines USING (creator_id, currency) "
     "LEFT JOIN adj USING (creator_id, currency) LEFT JOIN paid USING (creator_id, currency) "
     "WHERE coalesce(ledger.owed, 0) <> coalesce(lines.s, 0) + coalesce(adj.s, 0) - coalesce(paid.s, 0)"),
    ("statements whose lines or adjustments do not add up to their totals",
     "SELECT s.number FROM commissions_statement s "
     "LEFT JOIN (SELECT statement_id, sum(amount) AS t, count(*) AS n FROM commissions_commissionline WHERE statement_id IS NOT NULL GROUP BY 1) l "
     "ON l.statement_id = s.id "
     "LEFT JOIN (SELECT statement_id, sum(amount) AS t FROM commissions_adjustment WHERE statement_id IS NOT NULL GROUP BY 1) a ON a.statement_id = s.id "
     "WHERE coalesce(l.t, 0) <> s.lines_total OR coalesce(l.n, 0) <> s.lines_count OR coalesce(a.t, 0) <> s.adjustments_total"),
    ("statements whose opening balance is not the previous statement's carried-forward balance",
     "SELECT s.number FROM (SELECT s.*, lag(s.carried_forward) OVER (PARTITION BY s.creator_id, s.currency ORDER BY p.last_day, s.id) AS prev "
     "FROM commissions_statement s JOIN commissions_settlementperiod p ON p.id = s.period_id) s WHERE s.opening <> coalesce(s.prev, 0)"),
    ("payouts without a paid statement, or paid statements without one payout",
     "SELECT s.number FROM commissions_statement s LEFT JOIN commissions_journalentry e ON e.key = 'payout:' || s.id "
     "WHERE (s.status = 'paid') <> (e.id IS NOT NULL) OR (e.id IS NOT NULL AND e.amount <> -s.payout_due) "
     "UNION ALL SELECT e.key FROM commissions_journalentry e WHERE e.kind = 'payout' AND NOT EXISTS "
     "(SELECT 1 FROM commissions_statement s WHERE 'payout:' || s.id = e.key)"),
]


def ledger_problems(limit: int = 5) -> list[str]:
    """One line per broken rule, naming up to `limit` offenders; an empty list when all hold."""
    problems = []
    with connection.cursor() as cursor:
        for title, sql in CHECKS:
            cursor.execute(f"SELECT * FROM ({sql}) q LIMIT %s", [limit])
            rows = [str(r[0]) for r in cursor.fetchall()]
            if rows:
                problems.append(f"{title}: {', '.join(rows)}")
    return problems
