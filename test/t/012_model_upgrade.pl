# A model created under version 1.1 keeps working after the update to 1.2:
# its views (built from the 1.1 definitions) refresh with every customer,
# its history gains a snapshot of the columns it has, the transition matrix
# and the report read it, and a model created after the update has the 1.2
# views.  The update also warns about a 1.1 model whose views use an
# operator from outside pg_catalog and rfm (a search_path hijack at
# creation).
use strict;
use warnings;
use Cwd qw(abs_path);
use File::Basename qw(dirname);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $csv = abs_path(dirname(__FILE__) . '/../data/rfm_data_orders.csv');
my $node = PostgreSQL::Test::Cluster->new('model_upgrade');
$node->init;
$node->start;
$node->safe_psql('postgres', qq{
	CREATE EXTENSION rfm VERSION '1.1';
	CREATE TABLE orders (customer_id text, order_date date, revenue numeric,
	                     first_name text, last_name text, email text);
	COPY orders FROM '$csv' WITH (FORMAT csv, HEADER true);
	SELECT count(*) FROM rfm_create_model('old', 'orders', 'customer_id', 'order_date', 'revenue',
	                                      as_of => '2006-06-30 00:00+00', clv => true, time_unit => 'week');
	-- a 1.1 model whose views bound an operator of public (the creator's
	-- search_path): numeric > integer of the attacker's, made before it
	CREATE FUNCTION public.gt(numeric, integer) RETURNS boolean LANGUAGE sql AS 'SELECT \$1 > \$2::numeric';
	CREATE OPERATOR public.> (LEFTARG = numeric, RIGHTARG = integer, FUNCTION = public.gt);
	SELECT count(*) FROM rfm_create_model('hijacked', 'orders', 'customer_id', 'order_date', 'revenue',
	                                      as_of => '2006-06-30 00:00+00', clv => true);
});
my $customers = $node->safe_psql('postgres', 'SELECT count(*) FROM old_customers');
is($customers, $node->safe_psql('postgres', q{SELECT count(DISTINCT customer_id) FROM orders WHERE order_date <= '2006-06-30'}),
	'1.1: the model has the customers with an order by 2006-06-30');
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM pg_depend d JOIN pg_rewrite r ON d.classid = 'pg_rewrite'::regclass AND d.objid = r.oid
	WHERE r.ev_class = 'hijacked_fit'::regclass AND d.refclassid = 'pg_operator'::regclass
	  AND d.refobjid IN (SELECT oid FROM pg_operator WHERE oprnamespace = 'public'::regnamespace)}), '1',
	'1.1 bound the operator of public into a view of the model created after it');

my ($ret, $out, $err) = $node->psql('postgres', 'ALTER EXTENSION rfm UPDATE');
is($ret, 0, 'the update runs');
like($err, qr/WARNING:  the materialized view (public\.)?hijacked_\w+ of model "hijacked" uses a function or operator from outside pg_catalog and rfm/,
	'it warns about the view that bound the operator of public');
unlike($err, qr/model "old"/, 'and about no other model');
is($node->safe_psql('postgres', q{SELECT views_version FROM rfm_model WHERE name = 'old'}), '1.1',
	'the 1.1 model is known to have the views of 1.1');

$node->safe_psql('postgres', q{CALL rfm_refresh('old', '2006-12-31 00:00+00')});
is($node->safe_psql('postgres', 'SELECT count(*) FROM old_customers'),
	$node->safe_psql('postgres', q{SELECT count(DISTINCT customer_id) FROM orders WHERE order_date <= '2006-12-31'}),
	'refreshed after the update, its views count every customer with an order (one-time buyers too)');
is($node->safe_psql('postgres', 'SELECT count(*) FROM old_customers WHERE frequency = 1'),
	$node->safe_psql('postgres', q{SELECT count(*) FROM (SELECT customer_id FROM orders WHERE order_date <= '2006-12-31'
	                                 GROUP BY 1 HAVING count(*) = 1) s}),
	'one-time buyers included');
is($node->safe_psql('postgres', 'SELECT count(DISTINCT as_of) FROM old_history'), '2',
	'its history has the snapshots of before and after the update');
is($node->safe_psql('postgres', q{SELECT sum(customers) FROM rfm_transition_matrix('old')}),
	$node->safe_psql('postgres', q{SELECT count(DISTINCT customer_id) FROM orders WHERE order_date <= '2006-12-31'}),
	'the transition matrix reads its history');
($ret, $out, $err) = $node->psql('postgres', q{SELECT * FROM rfm_transition_matrix('old', by => 'ae_group')});
like($err, qr/the history of model "old" has no column ae_group/, 'transitions by group need a 1.2 model, and say so');
like($node->safe_psql('postgres', q{SELECT rfm_report('old')}), qr/<svg/, 'the report of a 1.1 model renders');

$node->safe_psql('postgres', q{
	SELECT count(*) FROM rfm_create_model('new', 'orders', 'customer_id', 'order_date', 'revenue',
	                                      as_of => '2006-12-31 00:00+00', clv => false)});
is($node->safe_psql('postgres', q{
	SELECT (SELECT count(*) FROM new_customers) = (SELECT count(*) FROM old_customers)
	       AND (SELECT count(*) FROM new_customers WHERE ae_group IS NULL) = 0}), 't',
	'a model created after the update has the 1.2 views, with the same customers');

$node->stop;
done_testing();
