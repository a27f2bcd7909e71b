# BG/BB against an independent implementation, test/ref/btyd_ref.py
# (python3 with Debian's python3-scipy and python3-numpy): the fit of the
# donation data against scipy's fit of the paper's likelihood; the standard
# errors (also with an L2 penalty) against a numerical Hessian; P(alive),
# the conditional expectation (the paper's closed form with Gamma
# functions, where src/bgbb.c sums term by term) and P(X(n) = x) on a grid
# of customers under two models; and the fit of simulated customers against
# scipy's fit and the parameters of the simulation.
use strict;
use warnings;
use Cwd qw(abs_path);
use File::Basename qw(dirname);
use lib dirname(__FILE__) . '/../perl';
use BtydRef;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $donations = abs_path(dirname(__FILE__) . '/../data/donations.csv');
python_or_skip();

my $node = PostgreSQL::Test::Cluster->new('bgbb_ref');
$node->init;
$node->start;
$node->safe_psql('postgres', qq{
	CREATE EXTENSION rfm;
	CREATE TABLE patterns (x int, t_x int, n int, customers int);
	COPY patterns FROM '$donations' WITH (FORMAT csv, HEADER);
	CREATE TABLE donors AS
	SELECT x::float8 AS x, t_x::float8 AS t_x, n::float8 AS n
	FROM patterns, generate_series(1, customers);
});

# A fit's parameters, log-likelihood and standard errors.
sub fit
{
	my ($agg, $table) = @_;
	my ($params, $ses) = split /\n/, $node->safe_psql('postgres', qq{
		SELECT concat_ws(',', (m).alpha, (m).beta, (m).gamma, (m).delta, (m).log_likelihood),
		       concat_ws(',', (m).alpha_se, (m).beta_se, (m).gamma_se, (m).delta_se)
		FROM (SELECT $agg AS m FROM $table) s}, extra_params => [ '-A', '-F', "\n" ]);
	return ([ split /,/, $params ], [ split /,/, $ses ]);
}

# ---- the donation data ----
my ($mine, $se) = fit('rfm_bgbb_fit(x, t_x, n)', 'donors');
my ($scipy) = reference($node, 'SELECT x, t_x, n FROM donors', 'fit', 'bgbb');
close_to('donations: parameters and LL against scipy', $mine, $scipy, 1e-6);
my $params = join(',', @$mine[ 0 .. 3 ]);
my ($ref_se) = reference($node, 'SELECT x, t_x, n FROM donors', 'se', 'bgbb', $params, 0);
close_to('donations: standard errors against a numerical Hessian', $se, $ref_se, 1e-3);

my ($mine_l2, $se_l2) = fit('rfm_bgbb_fit(x, t_x, n, 0.01)', 'donors');
($ref_se) = reference($node, 'SELECT x, t_x, n FROM donors', 'se', 'bgbb', join(',', @$mine_l2[ 0 .. 3 ]), 0.01);
close_to('donations, l2 = 0.01: penalized standard errors against a numerical Hessian', $se_l2, $ref_se, 1e-3);

# ---- predictions on a grid of customers, under the donation fit and a
# model with gamma > 1 and delta < 1 ----
my $grid = q{SELECT x, t_x, n, h
	FROM (VALUES (0, 0, 0), (0, 0, 1), (0, 0, 6), (1, 1, 6), (1, 5, 6), (2, 4, 6), (6, 6, 6),
	             (3, 10, 12), (0, 0, 52), (20, 51, 52), (40, 50, 200)) c(x, t_x, n),
	     (VALUES (1), (5), (30)) h(h)
	ORDER BY 1, 2, 3, 4};
for my $model ($params, '0.4,3.5,2.5,0.6')
{
	my @ref = reference($node, $grid, 'predict_bgbb', $model);
	my @rows = split /\n/, $node->safe_psql('postgres', qq{
		SELECT concat_ws(',', rfm_p_alive(m, x, t_x, n), rfm_expected_purchases(m, h, x, t_x, n),
		                 rfm_p_purchases(m, n, x))
		FROM ($grid) g, (SELECT rfm_bgbb_model($model) AS m) s});
	is(scalar(@rows), scalar(@ref), "model ($model): as many predictions as the reference");
	for my $i (0 .. $#rows)
	{
		close_to("model ($model), row $i: P(alive at n+1), E[X(n, n+h)], P(X(n) = x)",
			[ split /,/, $rows[$i] ], $ref[$i], 1e-10);
	}
}

# ---- simulated customers: alpha = 1.2, beta = 0.75, gamma = 0.66,
# delta = 2.8, 6,000 customers observed for 4..10 opportunities ----
my @truth = (1.2, 0.75, 0.66, 2.8);
my $sim = reference_output('', 'simulate_bgbb', 6000, 20261201, @truth);
$node->safe_psql('postgres', 'CREATE TABLE sim (x float8, t_x float8, n float8)');
$node->safe_psql('postgres', "COPY sim FROM STDIN WITH (FORMAT csv);\n$sim\\.\n");
is($node->safe_psql('postgres', 'SELECT count(*) FROM sim'), '6000', 'simulated customers loaded');
my ($sim_fit, $sim_se) = fit('rfm_bgbb_fit(x, t_x, n)', 'sim');
($scipy) = reference($node, 'SELECT x, t_x, n FROM sim', 'fit', 'bgbb');
close_to('simulated BG/BB: parameters and LL against scipy', $sim_fit, $scipy, 1e-6);
for my $i (0 .. 3)
{
	my $z = abs($sim_fit->[$i] - $truth[$i]) / $sim_se->[$i];
	ok($z < 3, "simulated BG/BB: parameter $i = $sim_fit->[$i] within 3 standard errors ($sim_se->[$i]) of $truth[$i] (z = $z)");
}

$node->stop;
done_testing();
