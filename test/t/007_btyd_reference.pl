# The customer-base model fits against an independent implementation,
# test/ref/btyd_ref.py (python3 with Debian's python3-scipy and
# python3-numpy): the standard errors of BG/NBD, MBG/NBD, Pareto/NBD and
# Gamma-Gamma on CDNOW against a numerical Hessian of its log-likelihoods
# (also with an L2 penalty, whose curvature the penalized standard errors
# include), and Pareto/NBD fits on simulated customers against scipy's fit
# and against the parameters of the simulation.
use strict;
use warnings;
use Cwd qw(abs_path);
use File::Basename qw(dirname);
use lib dirname(__FILE__) . '/../perl';
use BtydRef;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $cdnow = abs_path(dirname(__FILE__) . '/../data/cdnow_sample.txt');
python_or_skip();

my $node = PostgreSQL::Test::Cluster->new('btyd_ref');
$node->init;
$node->start;
$node->safe_psql('postgres', qq{
	CREATE EXTENSION rfm;
	CREATE TABLE raw (line text);
	COPY raw FROM '$cdnow';
	CREATE TABLE cal AS
	WITH tx AS (SELECT f[2]::int AS customer_id, to_date(f[3], 'YYYYMMDD') AS day, f[5]::numeric AS dollars
	            FROM (SELECT regexp_split_to_array(btrim(line), '\\s+') AS f FROM raw) s),
	     days AS (SELECT customer_id, day, sum(dollars) AS amount
	              FROM tx WHERE day <= date '1997-09-30' GROUP BY customer_id, day)
	SELECT customer_id, (count(*) - 1)::float8 AS x,
	       ((max(day) - min(day)) / 7.0)::float8 AS t_x,
	       ((date '1997-09-30' - min(day)) / 7.0)::float8 AS "T",
	       ((sum(amount) - (array_agg(amount ORDER BY day))[1]) / nullif(count(*) - 1, 0))::float8 AS zbar
	FROM days GROUP BY customer_id;
});

my $customers = q{SELECT x, t_x, "T" FROM cal};
my @cases = (
	[ 'bgnbd', q{rfm_bgnbd_fit(x, t_x, "T", 'week')}, [qw(r alpha a b)], $customers, 0 ],
	[ 'bgnbd', q{rfm_bgnbd_fit(x, t_x, "T", 'week', 0.01)}, [qw(r alpha a b)], $customers, 0.01 ],
	[ 'mbgnbd', q{rfm_mbgnbd_fit(x, t_x, "T", 'week')}, [qw(r alpha a b)], $customers, 0 ],
	[ 'pnbd', q{rfm_pnbd_fit(x, t_x, "T", 'week')}, [qw(r alpha s beta)], $customers, 0 ],
	[ 'pnbd', q{rfm_pnbd_fit(x, t_x, "T", 'week', 0.01)}, [qw(r alpha s beta)], $customers, 0.01 ],
	[ 'gg', q{rfm_gamma_gamma_fit(x, zbar)}, [qw(p q gamma)], q{SELECT x, zbar FROM cal WHERE x > 0}, 0 ]);
for my $c (@cases)
{
	my ($model, $fit, $names, $rows, $l2) = @$c;
	my $fields = join(', ', map { "(m).$_" } @$names);
	my $ses = join(', ', map { "(m).${_}_se" } @$names);
	my ($params, $mine) = split /\n/, $node->safe_psql('postgres', qq{
		SELECT concat_ws(',', $fields), concat_ws(',', $ses)
		FROM (SELECT $fit AS m FROM cal) s}, extra_params => [ '-A', '-F', "\n" ]);
	my @ref = @{ (reference($node, $rows, 'se', $model, $params, $l2))[0] };
	close_to("$model standard errors (l2 = $l2) against a numerical Hessian",
		[ split /,/, $mine ], \@ref, 1e-3);
}

# Pareto/NBD on simulated customers: r = 0.6, alpha = 8, s = 0.8, beta = 12
# (weeks), 4,000 customers.  The fit must agree with scipy's on the same
# rows, and lie within 3 standard errors of the truth.
my @truth = (0.6, 8, 0.8, 12);
my $sim = reference_output('', 'simulate', 4000, 20261201, @truth);
$node->safe_psql('postgres', 'CREATE TABLE sim (x float8, t_x float8, "T" float8)');
$node->safe_psql('postgres', "COPY sim FROM STDIN WITH (FORMAT csv);\n$sim\\.\n");
is($node->safe_psql('postgres', 'SELECT count(*) FROM sim'), '4000', 'simulated customers loaded');
my ($fit, $se) = split /\n/, $node->safe_psql('postgres', q{
	SELECT concat_ws(',', (m).r, (m).alpha, (m).s, (m).beta, (m).log_likelihood),
	       concat_ws(',', (m).r_se, (m).alpha_se, (m).s_se, (m).beta_se)
	FROM (SELECT rfm_pnbd_fit(x, t_x, "T", 'week') AS m FROM sim) s}, extra_params => [ '-A', '-F', "\n" ]);
my @mine = split /,/, $fit;
my @ses = split /,/, $se;
my @scipy = @{ (reference($node, 'SELECT x, t_x, "T" FROM sim', 'fit', 'pnbd'))[0] };
close_to('simulated Pareto/NBD: parameters and LL against scipy', \@mine, \@scipy, 1e-4);
for my $i (0 .. 3)
{
	my $z = abs($mine[$i] - $truth[$i]) / $ses[$i];
	ok($z < 3, "simulated Pareto/NBD: parameter $i = $mine[$i] within 3 standard errors ($ses[$i]) of $truth[$i] (z = $z)");
}

$node->stop;
done_testing();
