# Models fitted and stored under version 1.1 (in a table and a materialized
# view) survive the upgrade to 1.2, whose model types gained fields: they
# read back with the new fields NULL, predict as before, and the view
# refreshes with the new fields filled.
use strict;
use warnings;
use Cwd qw(abs_path);
use File::Basename qw(dirname);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $cdnow = abs_path(dirname(__FILE__) . '/../data/cdnow_sample.txt');
my $node = PostgreSQL::Test::Cluster->new('btyd_upgrade');
$node->init;
$node->start;
$node->safe_psql('postgres', qq{
	CREATE EXTENSION rfm VERSION '1.1';
	CREATE TABLE raw (line text);
	COPY raw FROM '$cdnow';
	CREATE TABLE cal AS
	WITH days AS (SELECT DISTINCT f[2]::int AS customer_id, to_date(f[3], 'YYYYMMDD') AS day
	              FROM (SELECT regexp_split_to_array(btrim(line), '\\s+') AS f FROM raw) s
	              WHERE to_date(f[3], 'YYYYMMDD') <= date '1997-09-30')
	SELECT customer_id, (count(*) - 1)::float8 AS x, ((max(day) - min(day)) / 7.0)::float8 AS t_x,
	       ((date '1997-09-30' - min(day)) / 7.0)::float8 AS "T"
	FROM days GROUP BY customer_id;
	CREATE TABLE stored AS SELECT rfm_bgnbd_fit(x, t_x, "T", 'week') AS m FROM cal;
	CREATE MATERIALIZED VIEW stored_mv AS SELECT rfm_bgnbd_fit(x, t_x, "T", 'week') AS m FROM cal;
});
my $before = $node->safe_psql('postgres', 'SELECT rfm_p_alive(m, 2, 30.43, 38.86) FROM stored');

$node->safe_psql('postgres', 'ALTER EXTENSION rfm UPDATE');
is($node->safe_psql('postgres', q{SELECT extversion FROM pg_extension WHERE extname = 'rfm'}), '1.2',
	'upgraded to 1.2');
is($node->safe_psql('postgres', 'SELECT rfm_p_alive(m, 2, 30.43, 38.86) FROM stored'), $before,
	'a model stored by 1.1 predicts as before');
is($node->safe_psql('postgres',
		'SELECT (m).r_se IS NULL AND (m).aic IS NULL AND round((m).r::numeric, 3) = 0.243 FROM stored'),
	't', 'its new fields read as NULL, its parameters unchanged');
is($node->safe_psql('postgres',
		'SELECT (m).r_se IS NULL AND rfm_p_alive(m, 2, 30.43, 38.86) = ' . $before . ' FROM stored_mv'),
	't', 'the materialized view reads the same before a refresh');
$node->safe_psql('postgres', 'REFRESH MATERIALIZED VIEW stored_mv');
is($node->safe_psql('postgres', 'SELECT round((m).r_se::numeric, 4) FROM stored_mv'), '0.0126',
	'after a refresh the view has the standard errors');

$node->stop;
done_testing();
