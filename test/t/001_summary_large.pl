# rfm_summary on a larger generated data set: against plain SQL under hash
# aggregation that spills to disk, sorted aggregation and parallel workers,
# and the state's binary form (send/recv) through COPY ... (FORMAT binary).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('main');
$node->init;
$node->append_conf('postgresql.conf', "max_worker_processes = 8\nmax_parallel_workers = 4\n");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION rfm');

# 300,000 orders of 30,000 customers over two years, amounts with 0..4
# decimals, some returns, some rows after as_of, timestamps in any hour.
$node->safe_psql('postgres', q{
	CREATE TABLE o AS
	SELECT (i * 7919) % 30000 AS c,
	       timestamptz '2022-01-01 00:00+00' + ((i * 104729) % 63072000) * interval '1 second' AS t,
	       round(((i * 15485863) % 1000003)::numeric / 997 - 50, (i % 5)::int) AS a
	FROM generate_series(1::bigint, 300000) i;
	ANALYZE o;
});

my $compare = q{
	SELECT count(*) || ' ' || count(*) FILTER (WHERE
	         (s).frequency = r.frequency AND (s).monetary = r.monetary AND (s).returns = r.returns
	         AND (s).first_order IS NOT DISTINCT FROM r.first_order
	         AND (s).last_order IS NOT DISTINCT FROM r.last_order
	         AND (s).purchase_days = r.days
	         AND (s).repeat_recency IS NOT DISTINCT FROM r.t_x::float8)
	FROM (SELECT c, rfm_summary(t, a, '2023-10-01 00:00+02') AS s FROM o GROUP BY c) g
	JOIN (SELECT c, count(*) FILTER (WHERE a >= 0) AS frequency, sum(a) AS monetary,
	             count(*) FILTER (WHERE a < 0) AS returns,
	             min(t) FILTER (WHERE a >= 0) AS first_order, max(t) FILTER (WHERE a >= 0) AS last_order,
	             count(DISTINCT t::date) FILTER (WHERE a >= 0) AS days,
	             max(t::date) FILTER (WHERE a >= 0) - min(t::date) FILTER (WHERE a >= 0) AS t_x
	      FROM o WHERE t <= '2023-10-01 00:00+02' GROUP BY c) r USING (c)
};

for my $tz ('UTC', 'Europe/Berlin', 'Asia/Kolkata')
{
	my $settings = "SET TimeZone = '$tz'; SET work_mem = '64kB'; SET enable_sort = off;";
	is($node->safe_psql('postgres', "$settings $compare"), '30000 30000',
		"hash aggregation spilling to disk matches plain SQL ($tz)");
}
is($node->safe_psql('postgres', "SET enable_hashagg = off; $compare"), '30000 30000',
	'sorted aggregation matches plain SQL');

# Parallel: partial states built in workers and combined.
my $par = q{SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0;
	SET min_parallel_table_scan_size = 0; SET max_parallel_workers_per_gather = 4;
	SET parallel_leader_participation = off; SET enable_hashagg = off;};
my $plan = $node->safe_psql('postgres', "$par EXPLAIN (COSTS OFF)
	SELECT c % 10, rfm_summary(t, a, '2023-10-01 00:00+02') FROM o GROUP BY c % 10");
like($plan, qr/Partial GroupAggregate|Partial HashAggregate/, 'parallel plan uses partial aggregation');
my $cmp = q{SELECT count(*) || ' ' || count(*) FILTER (WHERE p.s = q.s) FROM par p JOIN ser q USING (k)};
$node->safe_psql('postgres', "$par CREATE TABLE par AS
	SELECT c % 10 AS k, rfm_summary(t, a, '2023-10-01 00:00+02') AS s FROM o GROUP BY c % 10");
$node->safe_psql('postgres', "CREATE TABLE ser AS
	SELECT c % 10 AS k, rfm_summary(t, a, '2023-10-01 00:00+02') AS s FROM o GROUP BY c % 10");
is($node->safe_psql('postgres', $cmp), '10 10', 'parallel and serial results are equal');

# Binary form: states out through COPY BINARY and back in through recv.
$node->safe_psql('postgres', q{
	CREATE AGGREGATE rfm_state_of(timestamptz, numeric, timestamptz) (
	    SFUNC = rfm_summary_trans, STYPE = rfm_state, COMBINEFUNC = rfm_summary_combine);
	CREATE TABLE st AS SELECT c, rfm_state_of(t, a, '2023-10-01 00:00+02') AS s FROM o GROUP BY c;
	CREATE TABLE st2 (LIKE st);
});
my $file = $node->basedir . '/states.bin';
$node->safe_psql('postgres', "COPY st TO '$file' (FORMAT binary)");
$node->safe_psql('postgres', "COPY st2 FROM '$file' (FORMAT binary)");
is($node->safe_psql('postgres', q{
	SELECT count(*) || ' ' || count(*) FILTER (WHERE rfm_summary_final(a.s) = rfm_summary_final(b.s))
	FROM st a JOIN st2 b USING (c)}), '30000 30000', 'states survive send and recv');

# A damaged binary state is rejected with an error, not trusted.
$node->safe_psql('postgres', q{CREATE TABLE bad AS SELECT set_byte(rfm_state_send(s), 0, 9) AS b FROM st LIMIT 1;});
$node->safe_psql('postgres', "COPY (SELECT 1) TO '$file.one'");
my ($ret, $out, $err) = $node->psql('postgres', q{
	SELECT rfm_state_recv(NULL::internal)});
($ret, $out, $err) = $node->psql('postgres', q{SELECT (SELECT encode(b, 'hex') FROM bad)::rfm_state});
like($err, qr/invalid rfm_state value/, 'a damaged state is rejected');

$node->stop;
done_testing();
