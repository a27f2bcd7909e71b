# A refresh that ends before it commits -- its backend killed, cancelled,
# or stopped by statement_timeout -- leaves the model as the previous
# refresh made it: the views read the same rows, the tables the refresh had
# built are gone with its transaction, its log row says what happened (or,
# for a killed backend, is marked abandoned by the next refresh), and the
# next refresh gives the right answer.
#
# The refresh is stopped after it has built all five new tables: session
# "holder" locks the model's history table in SHARE mode, so the refresh
# waits to write the history snapshot, just before it swaps the views.  And
# once while it reads the source (a view that sleeps).
use strict;
use warnings;
use Cwd qw(abs_path);
use File::Basename qw(dirname);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

# the psql of a killed backend is gone: writing to it must not end the test
$SIG{PIPE} = 'IGNORE';

sub finish
{
	my ($session) = @_;
	eval { $session->quit; };
}

my $csv = abs_path(dirname(__FILE__) . '/../data/rfm_data_orders.csv');
my $node = PostgreSQL::Test::Cluster->new('refresh_faults');
$node->init;
$node->start;
$node->safe_psql('postgres', qq{
	CREATE EXTENSION rfm;
	CREATE TABLE orders (customer_id text, order_date date, revenue numeric,
	                     first_name text, last_name text, email text);
	COPY orders FROM '$csv' WITH (FORMAT csv, HEADER true);
	CREATE FUNCTION pause() RETURNS boolean LANGUAGE plpgsql AS \$\$
	BEGIN
	    IF current_setting('test.pause', true) = 'on' THEN PERFORM pg_sleep(30); END IF;
	    RETURN true;
	END \$\$;
	CREATE VIEW slow_orders AS SELECT * FROM orders WHERE (SELECT pause());
	SELECT count(*) FROM rfm_create_model('m', 'slow_orders', 'customer_id', 'order_date', 'revenue',
	                                      as_of => '2007-01-01 00:00+00', clv => false);
});

# What the model holds, and what the orders say it should hold.
my $model_q = q{SELECT count(*) || ' ' || sum(monetary) || ' ' || sum(revenue_rank)
                FROM m_customers WHERE frequency > 0};
my $orders_q = q{SELECT count(DISTINCT customer_id) || ' ' || sum(revenue) || ' '
                        || (count(DISTINCT customer_id) * (count(DISTINCT customer_id) + 1) / 2)
                 FROM orders WHERE order_date <= '2007-01-01'};
my $old = $node->safe_psql('postgres', $model_q);
is($old, $node->safe_psql('postgres', $orders_q), 'the model holds the orders');

# New orders: a new customer and more revenue; the model is now behind.
$node->safe_psql('postgres', q{
	INSERT INTO orders (customer_id, order_date, revenue) VALUES ('zz new', '2006-12-30', 123.45),
	                                                             ('Abby O''Connor', '2006-12-31', 10)});
my $new = $node->safe_psql('postgres', $orders_q);
isnt($new, $old, 'the orders changed');

my $storage_q = q{SELECT string_agg(relname, ',' ORDER BY relname) FROM pg_class
                  WHERE relname LIKE 'm$%' AND relkind = 'r'};
my $storage = $node->safe_psql('postgres', $storage_q);
is($storage, 'm$cus_a,m$fit_a,m$par_a,m$rnk_a,m$seg_a,m$sum_a', 'the views read the tables of generation a');

# Start a refresh that stops before its swap; return its pid.
sub held_refresh
{
	my ($session, $settings) = @_;
	my $pid = $session->query_safe('SELECT pg_backend_pid()');
	$session->query_safe($settings) if $settings;
	$session->query_until(qr/started/, "\\echo started\nCALL rfm_refresh('m');\n");
	$node->poll_query_until('postgres', qq{
		SELECT EXISTS (SELECT 1 FROM pg_locks WHERE pid = $pid AND NOT granted
		                                        AND relation = 'm_history'::regclass)})
	  or die 'the refresh did not reach the history table';
	return $pid;
}

sub last_log
{
	return $node->safe_psql('postgres',
		q{SELECT outcome || ' ' || coalesce(sqlstate, '-') FROM rfm_refresh_log ORDER BY id DESC LIMIT 1});
}

my $holder = $node->background_psql('postgres', on_error_stop => 0);

# ---- the backend killed between building the tables and the swap ----
$holder->query_safe('BEGIN; LOCK TABLE m_history IN SHARE MODE');
my $a = $node->background_psql('postgres', on_error_stop => 0);
my $pid = held_refresh($a);
is($node->safe_psql('postgres', $model_q), $old, 'killed: while it waits, readers see the old model');
$node->safe_psql('postgres', "SELECT pg_terminate_backend($pid)");
$node->poll_query_until('postgres', "SELECT NOT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = $pid)");
finish($a);
$holder->query_safe('ROLLBACK');
is($node->safe_psql('postgres', $model_q), $old, 'killed: the model reads as before');
is($node->safe_psql('postgres', $storage_q), $storage, 'killed: the tables it built are gone; the views read the same ones');
is(last_log(), 'running -', 'killed: its log row still says running');
$node->safe_psql('postgres', q{CALL rfm_refresh('m')});
is($node->safe_psql('postgres', $model_q), $new, 'killed: the next refresh gives the new model');
is($node->safe_psql('postgres',
		q{SELECT string_agg(outcome, ',' ORDER BY id) FROM (SELECT * FROM rfm_refresh_log ORDER BY id DESC LIMIT 2) l}),
	'abandoned,ok', 'killed: the next refresh marks the killed one abandoned');
is($node->safe_psql('postgres', $storage_q), 'm$cus_b,m$fit_b,m$par_b,m$rnk_b,m$seg_b,m$sum_b',
	'the next refresh swapped in generation b and dropped a');

# ---- cancelled, and stopped by statement_timeout ----
$node->safe_psql('postgres',
	q{INSERT INTO orders (customer_id, order_date, revenue) VALUES ('zz newer', '2006-12-29', 7)});
my $newer = $node->safe_psql('postgres', $orders_q);
for my $how ('cancel', 'statement_timeout')
{
	$holder->query_safe('BEGIN; LOCK TABLE m_history IN SHARE MODE');
	my $s = $node->background_psql('postgres', on_error_stop => 0);
	my $p = held_refresh($s, $how eq 'statement_timeout' ? q{SET statement_timeout = '2s'} : undef);
	$node->safe_psql('postgres', "SELECT pg_cancel_backend($p)") if $how eq 'cancel';
	$node->poll_query_until('postgres',
		q{SELECT outcome <> 'running' FROM rfm_refresh_log ORDER BY id DESC LIMIT 1})
	  or die "the $how refresh did not end";
	finish($s);
	$holder->query_safe('ROLLBACK');
	is(last_log(), 'cancelled 57014', "$how: logged as cancelled, SQLSTATE 57014");
	is($node->safe_psql('postgres', $model_q), $new, "$how: the model reads as before");
	is($node->safe_psql('postgres', $storage_q), 'm$cus_b,m$fit_b,m$par_b,m$rnk_b,m$seg_b,m$sum_b',
		"$how: the tables it built are gone");
}
$node->safe_psql('postgres', q{CALL rfm_refresh('m')});
is($node->safe_psql('postgres', $model_q), $newer, 'after the cancelled refreshes the next one gives the newer model');

# ---- killed while it reads the source ----
my $r = $node->background_psql('postgres', on_error_stop => 0);
my $rpid = $r->query_safe('SELECT pg_backend_pid()');
$r->query_safe('SET test.pause = on');
$r->query_until(qr/started/, "\\echo started\nCALL rfm_refresh('m');\n");
$node->poll_query_until('postgres',
	"SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = $rpid AND wait_event = 'PgSleep')")
  or die 'the refresh did not reach the source';
$node->safe_psql('postgres', "SELECT pg_terminate_backend($rpid)");
$node->poll_query_until('postgres', "SELECT NOT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = $rpid)");
finish($r);
is($node->safe_psql('postgres', $model_q), $newer, 'killed while reading the source: the model reads as before');
$node->safe_psql('postgres', q{CALL rfm_refresh('m')});
is($node->safe_psql('postgres', $model_q), $newer, '... and the next refresh works');
is($node->safe_psql('postgres', q{SELECT count(*) FROM pg_class WHERE relname LIKE 'm$%'}), '10',
	'the six tables of one generation (the keys of the ranks too) and four indexes are all that is stored');

# ---- an incremental model: killed between folding its states and the swap ----
$node->safe_psql('postgres', q{
	SELECT count(*) FROM rfm_create_model('mi', 'orders', 'customer_id', 'order_date', 'revenue',
	                                      as_of => '2007-01-01 00:00+00', clv => false, incremental => true);
	SELECT count(*) FROM rfm_create_model('mf', 'orders', 'customer_id', 'order_date', 'revenue',
	                                      as_of => '2007-01-01 00:00+00', clv => false);
	INSERT INTO orders (customer_id, order_date, revenue) VALUES ('zz newest', '2006-12-28', 99),
	                                                             ('Abby O''Connor', '2006-12-27', -5)});
my $inc_q = q{SELECT count(*) || ' ' || sum(monetary) FROM mi_customers WHERE frequency > 0};
my $inc_old = $node->safe_psql('postgres', $inc_q);
my $changes_q = q{SELECT string_agg(customer, ',' ORDER BY customer) FROM "mi$changes"};
is($node->safe_psql('postgres', $changes_q), 'Abby O\'Connor,zz newest', 'incremental: the triggers recorded the two customers');
my $state_q = q{SELECT state_as_of || ' ' || (SELECT count(*) FROM "mi$state") FROM rfm_model WHERE name = 'mi'};
my $state_old = $node->safe_psql('postgres', $state_q);
$holder->query_safe('BEGIN; LOCK TABLE mi_history IN SHARE MODE');
my $k = $node->background_psql('postgres', on_error_stop => 0);
my $kpid = $k->query_safe('SELECT pg_backend_pid()');
$k->query_until(qr/started/, "\\echo started\nCALL rfm_refresh('mi');\n");
$node->poll_query_until('postgres', qq{
	SELECT EXISTS (SELECT 1 FROM pg_locks WHERE pid = $kpid AND NOT granted
	                                        AND relation = 'mi_history'::regclass)})
  or die 'the incremental refresh did not reach the history table';
$node->safe_psql('postgres', "SELECT pg_terminate_backend($kpid)");
$node->poll_query_until('postgres', "SELECT NOT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = $kpid)");
finish($k);
$holder->query_safe('ROLLBACK');
is($node->safe_psql('postgres', $inc_q), $inc_old, 'incremental, killed: the model reads as before');
is($node->safe_psql('postgres', $changes_q), 'Abby O\'Connor,zz newest', 'incremental, killed: the changed customers are still recorded');
is($node->safe_psql('postgres', $state_q), $state_old, 'incremental, killed: the states and their as_of are as before');
$node->safe_psql('postgres', q{CALL rfm_refresh('mi'); CALL rfm_refresh('mf')});
like($node->safe_psql('postgres', q{SELECT message FROM rfm_refresh_log WHERE model = 'mi' ORDER BY id DESC LIMIT 1}),
	qr/^incremental: 1 customers read again, 1 with new orders added/,
	'incremental, killed: the next refresh reads the new customer again and adds the other\'s return');
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM ((SELECT * FROM mi_customers EXCEPT ALL SELECT * FROM mf_customers)
	                      UNION ALL (SELECT * FROM mf_customers EXCEPT ALL SELECT * FROM mi_customers)) x}),
	'0', 'incremental, killed: and gives every row of a full refresh');
isnt($node->safe_psql('postgres', $inc_q), $inc_old, 'incremental, killed: which has the new orders');

$holder->quit;
$node->stop;
done_testing();
