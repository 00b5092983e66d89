"""Transfer reconciliation: the prime brokers' deposits and withdrawals against the chains' own record
(transaction hashes, amounts, addresses, confirmations), and inflows to our watched addresses nobody reported."""
