# A BI client's view of a model: test/bi/read_model.py (python3, psycopg2)
# connects as a read-only role, finds the model's views through
# the catalogs, checks their comments and columns against rfm_model_columns()
# and the type OIDs its cursor reports, and recomputes the customers, net
# revenue, Pareto curve and segment totals from the raw Online Retail orders.
# Each of its checks becomes a test here; then a run against a damaged model
# (a missing comment, orders changed after the refresh) must fail.
use strict;
use warnings;
use Cwd qw(abs_path);
use File::Basename qw(dirname);
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $csv = abs_path(dirname(__FILE__) . '/../data/online_retail_invoices.csv');
my $script = abs_path(dirname(__FILE__) . '/../bi/read_model.py');
# psycopg2 comes from Debian's python3-psycopg2 (tools/setup.sh), which only
# the system interpreter sees
my $python = $ENV{PYTHON} // (-x '/usr/bin/python3' ? '/usr/bin/python3' : 'python3');

my $node = PostgreSQL::Test::Cluster->new('bi');
$node->init;
$node->start;
$node->safe_psql('postgres', qq{
	CREATE EXTENSION rfm;
	CREATE TABLE orders (invoice text, customer_id integer, invoice_time timestamptz,
	                     amount numeric, cancelled boolean, country text);
	SET TimeZone = 'UTC';
	COPY orders FROM '$csv' WITH (FORMAT csv, HEADER true);
	SELECT count(*) FROM rfm_create_model('retail', 'orders', 'customer_id', 'invoice_time', 'amount',
	                                      as_of => '2011-12-10 00:00+00');
	CREATE ROLE bi_reader LOGIN;
	GRANT SELECT ON orders, retail_summary, retail_fit, retail_customers, retail_segments, retail_pareto,
	                retail_history TO bi_reader;
});

# Runs the script; returns its exit code and output.
sub read_model
{
	my ($user) = @_;
	my ($out, $err) = ('', '');
	IPC::Run::run([ $python, $script, $node->connstr('postgres') . " user=$user", 'retail' ],
		'>', \$out, '2>', \$err);
	return ($? >> 8, $out, $err);
}

my ($out, $err) = ('', '');
IPC::Run::run([ $python, '-c', 'import psycopg2' ], '>', \$out, '2>', \$err);
if (!ok($? == 0, "$python can import psycopg2"))
{
	diag("$err\nInstall python3-psycopg2 (tools/setup.sh does).");
	done_testing();
	exit;
}

my ($status, $stdout, $stderr) = read_model('bi_reader');
my $checks = 0;
for my $line (split /\n/, $stdout)
{
	if ($line =~ /^(not )?ok \d+ - (.*)$/)
	{
		$checks++;
		ok(!defined $1, "read_model.py: $2");
	}
}
is($status, 0, 'read_model.py exits with 0') or diag("stdout:\n$stdout\nstderr:\n$stderr");
like($stdout, qr/^95 passed, 0 failed$/m, 'read_model.py: 95 passed, 0 failed');
is($checks, 95, 'every check of read_model.py reported a line');
like($stdout, qr/^# 22190 orders read; 4339 customers with an order on or before 2011-12-10T00:00:00\+00:00, net revenue 8310477\.05$/m,
	'the script read every order and found the customers and revenue of the model');

# A damaged model: a column without its comment, and orders that changed
# after the last refresh.  The script must notice both and fail.
$node->safe_psql('postgres', q{
	COMMENT ON COLUMN retail_pareto.revenue_share IS NULL;
	UPDATE orders SET amount = amount + 1 WHERE invoice = '536365';
});
($status, $stdout, $stderr) = read_model('bi_reader');
is($status, 1, 'read_model.py exits with 1 on a damaged model');
like($stdout, qr/^not ok \d+ - retail_pareto: every column has a comment$/m, 'it reports the missing comment');
like($stdout, qr/^not ok \d+ - retail_customers: monetary adds up to the net revenue/m,
	'it reports the revenue the views do not have');
like($stdout, qr/^\d+ passed, [1-9]\d* failed$/m, 'and counts the failures');

$node->stop;
done_testing();
