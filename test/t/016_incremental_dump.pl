# An incremental model survives pg_dump and restore: its stored states (in
# rfm_state's text form), the changes recorded since its last refresh, its
# capture function and the triggers on the source.  After the restore the
# next refresh reads every customer again, since the source's storage is new
# (a rewrite could have changed rows without firing the triggers), and gives
# every row an ordinary model of the same data gives; new orders written in
# the restored database reach the model through the restored triggers, and
# the refreshes after are incremental.
use strict;
use warnings;
use Cwd qw(abs_path);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

delete $ENV{PGTZ};
delete $ENV{PGOPTIONS};

my $csv = abs_path('test/data/rfm_data_orders.csv');
die "test/data/rfm_data_orders.csv not found (run from the source directory)"
  unless defined $csv && -r $csv;

my $node = PostgreSQL::Test::Cluster->new('incdump');
$node->init(extra => [ '--encoding=UTF8', '--locale=C' ]);
$node->start;
my $dir = $node->basedir;

$node->safe_psql('postgres', 'CREATE DATABASE src');
$node->safe_psql('src', qq{
	SET TimeZone = 'America/New_York';
	CREATE EXTENSION rfm;
	CREATE TABLE orders (customer_id text, order_date date, revenue numeric,
	                     first_name text, last_name text, email text);
	COPY orders FROM '$csv' WITH (FORMAT csv, HEADER true);
	CREATE INDEX ON orders (customer_id);
	SELECT count(*) FROM rfm_create_model('inc', 'orders', 'customer_id', 'order_date', 'revenue',
	                                      as_of => '2007-01-01 00:00+00', time_unit => 'week',
	                                      clv_horizon => 52, incremental => true);
	INSERT INTO orders (customer_id, order_date, revenue)
	VALUES ('zz new', '2006-12-30', 123.45), ('Abby O''Connor', '2006-12-31', 10),
	       ('Abby O''Connor', '2006-06-01', -3);
});
is($node->safe_psql('src', q{SELECT count(DISTINCT customer) FROM "inc$changes"}), '2',
	'before the dump: two customers recorded as changed');

command_ok([ 'pg_dump', '-Fc', '-f', "$dir/src.dump", '-d', $node->connstr('src') ], 'pg_dump');
$node->safe_psql('postgres', 'CREATE DATABASE dst');
command_ok([ 'pg_restore', '--exit-on-error', '-d', $node->connstr('dst'), "$dir/src.dump" ], 'pg_restore');

my $states_q = q{SELECT count(*) || ' ' || md5(string_agg(customer || ':' || state::text || ':' || after_as_of, ',' ORDER BY customer))
                 FROM "inc$state"};
is($node->safe_psql('dst', $states_q), $node->safe_psql('src', $states_q), 'the stored states are restored');
is($node->safe_psql('dst', q{SELECT string_agg(DISTINCT customer, ',' ORDER BY customer) FROM "inc$changes"}),
	"Abby O'Connor,zz new", 'the recorded changes are restored');
is($node->safe_psql('dst', q{SELECT count(*) FROM pg_trigger WHERE tgrelid = 'orders'::regclass AND NOT tgisinternal
                             AND tgfoid = '"inc$capture"()'::regprocedure AND tgenabled = 'O'}),
	'4', 'the four triggers and their function are restored');

# the next refresh in the restored database: incremental, and equal to an
# ordinary model of the same orders
$node->safe_psql('dst', q{
	SET TimeZone = 'America/New_York';
	SELECT count(*) FROM rfm_create_model('ful', 'orders', 'customer_id', 'order_date', 'revenue',
	                                      as_of => '2007-01-01 00:00+00', time_unit => 'week', clv_horizon => 52);
	CALL rfm_refresh('inc');
});
like($node->safe_psql('dst', q{SELECT message FROM rfm_refresh_log WHERE model = 'inc' ORDER BY id DESC LIMIT 1}),
	qr/^full: the source was rewritten since its rows were read/,
	'after the restore the first refresh reads every customer again: the source\'s storage is new');

my $diff_q = q{
	SELECT string_agg(s || ' ' || n, ', ' ORDER BY s) FROM (
	    SELECT '_summary' AS s, count(*) AS n FROM ((SELECT * FROM inc_summary EXCEPT ALL SELECT * FROM ful_summary)
	        UNION ALL (SELECT * FROM ful_summary EXCEPT ALL SELECT * FROM inc_summary)) x
	    UNION ALL
	    SELECT '_customers', count(*) FROM ((SELECT * FROM inc_customers EXCEPT ALL SELECT * FROM ful_customers)
	        UNION ALL (SELECT * FROM ful_customers EXCEPT ALL SELECT * FROM inc_customers)) x
	    UNION ALL
	    SELECT '_segments', count(*) FROM ((SELECT * FROM inc_segments EXCEPT ALL SELECT * FROM ful_segments)
	        UNION ALL (SELECT * FROM ful_segments EXCEPT ALL SELECT * FROM inc_segments)) x) d};
is($node->safe_psql('dst', $diff_q), '_customers 0, _segments 0, _summary 0',
	'after the restore the incremental model equals an ordinary one');

# new orders in the restored database reach the model
$node->safe_psql('dst', q{
	INSERT INTO orders (customer_id, order_date, revenue) VALUES ('zz newer', '2006-12-29', 7), ('zz new', '2006-12-31', 1);
	DELETE FROM orders WHERE customer_id = 'Abby O''Connor' AND revenue < 0;
	CALL rfm_refresh('inc');
	CALL rfm_refresh('ful');
});
like($node->safe_psql('dst', q{SELECT message FROM rfm_refresh_log WHERE model = 'inc' ORDER BY id DESC LIMIT 1}),
	qr/^incremental: 2 customers read again, 1 with new orders added/,
	'the restored triggers record new writes: the new customer and the deleted order read again, the new order added');
is($node->safe_psql('dst', $diff_q), '_customers 0, _segments 0, _summary 0',
	'and the incremental model still equals an ordinary one');
is($node->safe_psql('dst', q{SELECT frequency || ' ' || monetary FROM inc_customers WHERE customer = 'zz new'}),
	'2 124.45', 'with the new orders');

$node->stop;
done_testing();
