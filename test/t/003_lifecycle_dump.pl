# rfm_lifecycle_settings is an extension configuration table: pg_dump must
# keep a user's row (and restore it without clashing with CREATE EXTENSION),
# and a database without a row must restore without one.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('main');
$node->init;
$node->start;

# Orders k days before 2024-01-01 for three customers: a single purchase
# 100 days ago (growth by default, decline with churn_ratio 1.5 and
# decline_ratio 1: 100 > 1 * 90), a monthly buyer (maturity either way) and
# a purchase 200 days ago (decline by default, churned with churn_ratio 1.5:
# 200 > 1.5 * 90).
my $setup = q{
	CREATE EXTENSION rfm;
	CREATE TABLE o AS
	SELECT c, date '2024-01-01' - k AS d, 10::numeric AS a
	FROM (VALUES ('single_100', 100), ('single_200', 200)) v(c, k)
	UNION ALL
	SELECT 'monthly', date '2024-01-01' - (10 + 30 * i), 10 FROM generate_series(0, 12) i;
};
my $stages = q{
	SELECT string_agg(c || '=' || s, ' ' ORDER BY c)
	FROM (SELECT c, rfm_lifecycle(d, a, date '2024-01-01') AS s FROM o GROUP BY c) q
};

$node->safe_psql('postgres', 'CREATE DATABASE src');
$node->safe_psql('src', $setup);
is($node->safe_psql('src', $stages),
	'monthly=maturity single_100=growth single_200=decline', 'stages with the defaults');

$node->safe_psql('src', q{
	INSERT INTO rfm_lifecycle_settings (churn_ratio, decline_ratio) VALUES (1.5, 1)});
is($node->safe_psql('src', $stages),
	'monthly=maturity single_100=decline single_200=churned', 'stages with changed settings');

# dump and restore into a new database
my $dump = $node->basedir . '/src.sql';
$node->command_ok([ 'pg_dump', '-d', $node->connstr('src'), '-f', $dump ], 'pg_dump');
$node->safe_psql('postgres', 'CREATE DATABASE dst');
$node->command_ok([ 'psql', '-X', '-v', 'ON_ERROR_STOP=1', '-q', '-d', $node->connstr('dst'), '-f', $dump ],
	'the dump restores without errors');
is($node->safe_psql('dst', 'SELECT churn_ratio || \' \' || decline_ratio || \' \' || count(*) OVER () FROM rfm_lifecycle_settings'),
	'1.5 1 1', 'the settings row is restored');
is($node->safe_psql('dst', $stages),
	'monthly=maturity single_100=decline single_200=churned', 'restored stages use the restored settings');

# without a row: the restored database has none and uses the defaults
$node->safe_psql('src', 'DELETE FROM rfm_lifecycle_settings');
$node->command_ok([ 'pg_dump', '-d', $node->connstr('src'), '-f', $dump ], 'pg_dump without a row');
$node->safe_psql('postgres', 'CREATE DATABASE dst2');
$node->command_ok([ 'psql', '-X', '-v', 'ON_ERROR_STOP=1', '-q', '-d', $node->connstr('dst2'), '-f', $dump ],
	'restores without errors');
is($node->safe_psql('dst2', 'SELECT count(*) FROM rfm_lifecycle_settings'), '0', 'no settings row');
is($node->safe_psql('dst2', $stages),
	'monthly=maturity single_100=growth single_200=decline', 'defaults after the restore');

$node->stop;
done_testing();
