# A second refresh of a model meanwhile fails at once with 55P03, and what
# it says about the first one is true whether that one runs inside a
# transaction block (its log row is not visible to others yet) or outside
# one (its log row is committed and shows it running): it names the
# process that holds the model's lock, and the lock goes with that
# transaction, however it ends.
use strict;
use warnings;
use Cwd qw(abs_path);
use File::Basename qw(dirname);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $csv = abs_path(dirname(__FILE__) . '/../data/rfm_data_orders.csv');
my $node = PostgreSQL::Test::Cluster->new('refresh_lock');
$node->init;
$node->start;
$node->safe_psql('postgres', qq{
	CREATE EXTENSION rfm;
	CREATE TABLE orders (customer_id text, order_date date, revenue numeric,
	                     first_name text, last_name text, email text);
	COPY orders FROM '$csv' WITH (FORMAT csv, HEADER true);
	-- a source that takes its time while a session variable says so
	CREATE FUNCTION pause() RETURNS boolean LANGUAGE plpgsql AS \$\$
	BEGIN
	    IF current_setting('test.pause', true) = 'on' THEN PERFORM pg_sleep(3); END IF;
	    RETURN true;
	END \$\$;
	CREATE VIEW slow_orders AS SELECT * FROM orders WHERE (SELECT pause());
	SELECT count(*) FROM rfm_create_model('m', 'slow_orders', 'customer_id', 'order_date', 'revenue',
	                                      as_of => '2007-01-01 00:00+00', clv => false);
});

my $a = $node->background_psql('postgres', on_error_stop => 0, timeout => 60);
my $a_pid = $a->query_safe('SELECT pg_backend_pid()');

# Inside a transaction block: the refresh has happened, its transaction is open.
$a->query_safe('BEGIN');
$a->query_safe(q{CALL rfm_refresh('m')});
my ($ret, $out, $err) = $node->psql('postgres', q{\set VERBOSITY verbose
CALL rfm_refresh('m')});
like($err, qr/ERROR:  55P03: model "m" is being refreshed or dropped, so it cannot be refreshed now/,
	'in a block: a second refresh fails at once with 55P03');
like($err, qr/DETAIL:  Process $a_pid holds its lock in a transaction that has not ended/,
	'in a block: it names the process, and says its transaction has not ended (no log row to point at)');
unlike($err, qr/rfm_refresh_log shows/, 'in a block: it does not point at a log row nobody can see');
is($node->safe_psql('postgres', q{SELECT count(*) FROM rfm_refresh_log WHERE model = 'm' AND outcome = 'running'}),
	'0', 'in a block: no running row is visible to others');
($ret, $out, $err) = $node->psql('postgres', q{SELECT rfm_drop_model('m')});
like($err, qr/model "m" is being refreshed or dropped, so it cannot be dropped now/,
	'in a block: a drop fails too');
$a->query_safe('ROLLBACK');
is($node->safe_psql('postgres', q{CALL rfm_refresh('m'); SELECT outcome FROM rfm_refresh_log ORDER BY id DESC LIMIT 1}),
	'ok', 'after the rollback the lock is gone: a refresh runs');

# Outside a block: the refresh's log row is committed before the work.
$a->query_safe(q{SET test.pause = on});
$a->query_until(qr/started/, "\\echo started\nCALL rfm_refresh('m');\n");
$node->poll_query_until('postgres',
	q{SELECT count(*) = 1 FROM rfm_refresh_log WHERE model = 'm' AND outcome = 'running'}) or die 'no running refresh';
($ret, $out, $err) = $node->psql('postgres', q{\set VERBOSITY verbose
CALL rfm_refresh('m')});
like($err, qr/ERROR:  55P03/, 'outside a block: a second refresh fails at once with 55P03');
like($err, qr/DETAIL:  Process $a_pid is refreshing it \(rfm_refresh_log shows it running\)/,
	'outside a block: it names the process and the log row that shows it');
$a->query('SELECT 1');
is($node->safe_psql('postgres', q{
	SELECT string_agg(outcome || coalesce(' ' || sqlstate, ''), ', ' ORDER BY id) FROM rfm_refresh_log
	WHERE model = 'm' AND id > (SELECT max(id) - 2 FROM rfm_refresh_log WHERE model = 'm')}),
	'ok, skipped 55P03', 'the log: the first refresh ok, the second skipped with 55P03');

$a->quit;
$node->stop;
done_testing();
