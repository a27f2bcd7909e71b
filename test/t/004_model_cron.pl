# rfm_schedule through pg_cron (1.4.2): a scheduled CALL rfm_refresh(model)
# really runs, with its internal COMMITs, and takes in new orders; the job
# has the expected command, rescheduling replaces it, rfm_unschedule and
# rfm_drop_model remove it; an ordinary role that owns its orders table can
# schedule its model, and the job refreshes as that role.
#
# pg_cron 1.4.2 runs a job in one of two ways, and both are tested, on two
# clusters that wait for the same minute (its schedules have minute
# granularity only, so the wait dominates this test's run time):
#
#  * libpq (the default): the launcher connects to cron.host:port as the
#    job's user and sends the command as a simple query.  cron.host defaults
#    to 'localhost', i.e. TCP, but a TAP cluster listens on a unix socket only
#    (listen_addresses = ''), so every run would end in "connection failed"
#    and never reach rfm_refresh (no row in rfm_refresh_log at all); cron.host
#    must name the socket directory.  cron.schedule copies cron.host into
#    cron.job.nodename when it creates a job, so the setting must be right
#    before scheduling.  Outside a test the role also needs a way to log in
#    without a password prompt (pg_hba trust/peer, or ~/.pgpass of the server
#    OS user); the TAP cluster trusts local connections.
#  * cron.use_background_workers = on: a background worker connects to the
#    database as the job's user and runs the command itself; no connection,
#    no authentication, and cron.host is ignored.
#
# In both, CALL runs at top level outside a transaction block, so the
# procedure is non-atomic: rfm_refresh's COMMITs (log entry first, then the
# refresh) work, which the pid recorded in rfm_refresh_log confirms: it is
# the job_pid of the run in cron.job_run_details.
use strict;
use warnings;
use Cwd qw(abs_path);
use File::Basename qw(dirname);
use Time::HiRes qw(time sleep);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $csv = abs_path(dirname(__FILE__) . '/../data/rfm_data_orders.csv');
my $alice = [ extra_params => [ '-U', 'rfm_alice' ] ];

my %nodes;
for my $mode (qw(libpq bgw))
{
	my $node = PostgreSQL::Test::Cluster->new("cron_$mode");
	$node->init;
	$node->append_conf('postgresql.conf',
		"shared_preload_libraries = 'pg_cron'\ncron.database_name = 'postgres'\n"
		  . ($mode eq 'bgw'
			? "cron.use_background_workers = on\n"
			: "cron.host = '" . $node->host . "'\n"));
	$node->start;
	$nodes{$mode} = $node;
}

# Per cluster: the orders of the R package rfm (995 customers, 2001..2006),
# a model of them, and a second model owned by an ordinary role.
my (%job, %alice_job, %since);
for my $mode (sort keys %nodes)
{
	my $node = $nodes{$mode};
	$node->safe_psql('postgres', qq{
		CREATE EXTENSION pg_cron;
		CREATE EXTENSION rfm;
		CREATE TABLE orders (customer_id text, order_date date, revenue numeric,
		                     first_name text, last_name text, email text);
		COPY orders FROM '$csv' WITH (FORMAT csv, HEADER true);
		SELECT count(*) FROM rfm_create_model('daily', 'orders', 'customer_id', 'order_date', 'revenue');
		CREATE ROLE rfm_alice LOGIN;
		CREATE SCHEMA shop AUTHORIZATION rfm_alice;
		CREATE TABLE shop.orders AS
		SELECT customer_id, order_date, revenue FROM orders WHERE customer_id < 'F';
		ALTER TABLE shop.orders OWNER TO rfm_alice;
	});
	$node->safe_psql('postgres', q{
		SELECT count(*) FROM rfm_create_model('shop', 'shop.orders', 'customer_id', 'order_date', 'revenue',
		                                      schema_name => 'shop')}, @$alice);

	$job{$mode} = $node->safe_psql('postgres', q{SELECT rfm_schedule('daily', '* * * * *')});
	like($job{$mode}, qr/^\d+$/, "$mode: rfm_schedule returns a job id");
	is($node->safe_psql('postgres', qq{
		SELECT concat_ws('|', jobname, schedule, command, database, username, active)
		FROM cron.job WHERE jobid = $job{$mode}}),
		q{* * * * *|CALL public.rfm_refresh('daily')|postgres|postgres|t},
		"$mode: the job id is in cron.job with the refresh command (an unnamed job: known by its id)");
	is($node->safe_psql('postgres', q{SELECT cron_job_id FROM rfm_model WHERE name = 'daily'}),
		$job{$mode}, "$mode: rfm_model records the job id");

	# pg_cron lets a role schedule once it may use the schema cron.
	my ($ret, $out, $err) = $node->psql('postgres', q{SELECT rfm_schedule('shop', '* * * * *')}, @$alice);
	like($err, qr/scheduling needs USAGE on schema cron.*\n.*HINT:  A superuser can GRANT USAGE ON SCHEMA cron TO rfm_alice/s,
		"$mode: without USAGE on schema cron a role is told what it needs");
	$node->safe_psql('postgres', 'GRANT USAGE ON SCHEMA cron TO rfm_alice');
	$alice_job{$mode} = $node->safe_psql('postgres', q{SELECT rfm_schedule('shop', '* * * * *')}, @$alice);
	is($node->safe_psql('postgres', qq{
		SELECT concat_ws('|', jobname, command, username) FROM cron.job WHERE jobid = $alice_job{$mode}}),
		q{CALL public.rfm_refresh('shop')|rfm_alice},
		"$mode: with USAGE on schema cron the role schedules its model, as itself");

	# New customers after the models were built; only a refresh that starts
	# after this can count them.
	$node->safe_psql('postgres', q{
		INSERT INTO orders (customer_id, order_date, revenue)
		SELECT 'Cron Customer ' || i, current_date - 1, 10 * i FROM generate_series(1, 3) i});
	$node->safe_psql('postgres', q{
		INSERT INTO shop.orders SELECT 'Cron Shopper ' || i, current_date - 1, 5 * i FROM generate_series(1, 2) i},
		@$alice);
	$since{$mode} = $node->safe_psql('postgres', 'SELECT clock_timestamp()');
	is($node->safe_psql('postgres', q{SELECT customers FROM rfm_refresh_log WHERE model = 'daily' AND message = 'created'}),
		'995', "$mode: the model was built on the 995 customers before them");
}

# The first refresh of each model that started after the new orders, and the
# pg_cron run that made it (the refresh's backend is the run's job_pid).
sub refresh_after
{
	my ($node, $model, $since) = @_;
	return qq{(SELECT l FROM rfm_refresh_log l
	           WHERE l.model = '$model' AND l.started_at > '$since' AND l.outcome <> 'running'
	           ORDER BY l.id LIMIT 1)};
}
sub done_query
{
	my ($mode) = @_;
	my $cond = join(' AND ', map {
		my ($model, $jobid) = @$_;
		my $r = refresh_after($nodes{$mode}, $model, $since{$mode});
		qq{EXISTS (SELECT 1 FROM cron.job_run_details d
		           WHERE d.jobid = $jobid AND d.job_pid = ($r).pid AND d.status IN ('succeeded', 'failed'))}
	} ([ 'daily', $job{$mode} ], [ 'shop', $alice_job{$mode} ]));
	return "SELECT $cond";
}

my $deadline = time() + 150;
my %done;
while (keys %done < keys %nodes && time() < $deadline)
{
	for my $mode (grep { !$done{$_} } sort keys %nodes)
	{
		$done{$mode} = 1 if $nodes{$mode}->safe_psql('postgres', done_query($mode)) eq 't';
	}
	sleep(1) if keys %done < keys %nodes;
}

for my $mode (sort keys %nodes)
{
	my $node = $nodes{$mode};
	ok($done{$mode}, "$mode: pg_cron ran both refreshes within 150 s")
	  or diag($node->safe_psql('postgres',
		'SELECT string_agg(concat_ws(\' \', jobid, status, return_message, start_time), E\'\n\') FROM cron.job_run_details')
		  . "\n"
		  . $node->safe_psql('postgres',
			'SELECT string_agg(concat_ws(\' \', id, model, outcome, sqlstate, message, started_at), E\'\n\') FROM rfm_refresh_log'));

	my $daily = refresh_after($node, 'daily', $since{$mode});
	is($node->safe_psql('postgres', qq{SELECT concat_ws('|', ($daily).outcome, ($daily).refreshed_by)}),
		'ok|postgres', "$mode: the scheduled refresh is logged ok");
	my $distinct = $node->safe_psql('postgres', 'SELECT count(DISTINCT customer_id) FROM orders');
	is($distinct, 998, "$mode: the source has 998 distinct customers");
	is($node->safe_psql('postgres', 'SELECT count(*) FROM daily_customers'), $distinct,
		"$mode: daily_customers counts every distinct customer of the source");
	is($node->safe_psql('postgres', qq{SELECT ($daily).customers}), $distinct,
		"$mode: the log entry counts them too");
	is($node->safe_psql('postgres', qq{
		SELECT concat_ws('|', d.status, d.return_message, d.username) FROM cron.job_run_details d
		WHERE d.jobid = $job{$mode} AND d.job_pid = ($daily).pid}),
		'succeeded|CALL|postgres', "$mode: cron.job_run_details shows that run succeeded");

	# The ordinary role's job ran as that role.
	my $shop = refresh_after($node, 'shop', $since{$mode});
	is($node->safe_psql('postgres', qq{SELECT concat_ws('|', ($shop).outcome, ($shop).refreshed_by)}),
		'ok|rfm_alice', "$mode: the role's scheduled refresh ran as the role");
	is($node->safe_psql('postgres', qq{
		SELECT concat_ws('|', d.status, d.username) FROM cron.job_run_details d
		WHERE d.jobid = $alice_job{$mode} AND d.job_pid = ($shop).pid}),
		'succeeded|rfm_alice', "$mode: and its pg_cron run succeeded");
	is($node->safe_psql('postgres', q{
		SELECT (SELECT count(*) FROM shop.shop_customers) = (SELECT count(DISTINCT customer_id) FROM shop.orders)},
		@$alice), 't', "$mode: the role's model has every customer of its table");

	# A second rfm_schedule replaces the job entirely: a new job (with the
	# settings of now), the old one gone.
	my $new_job = $node->safe_psql('postgres', q{SELECT rfm_schedule('daily', '0 3 * * *')});
	isnt($new_job, $job{$mode}, "$mode: rescheduling makes a new job");
	is($node->safe_psql('postgres', q{
		SELECT count(*) || ' ' || min(schedule) || ' ' || bool_and(jobid = } . $new_job . q{)
		FROM cron.job WHERE command = 'CALL public.rfm_refresh(''daily'')'}),
		'1 0 3 * * * true', "$mode: rescheduling replaces the job, not adds one");
	$job{$mode} = $new_job;

	# rfm_unschedule removes it, once.
	is($node->safe_psql('postgres', q{SELECT rfm_unschedule('daily')}), 't', "$mode: rfm_unschedule returns true");
	is($node->safe_psql('postgres', q{
		SELECT count(*) FROM cron.job WHERE command = 'CALL public.rfm_refresh(''daily'')' OR jobid = } . $job{$mode}),
		'0', "$mode: rfm_unschedule removes the job from cron.job");
	is($node->safe_psql('postgres', q{SELECT cron_job_id IS NULL FROM rfm_model WHERE name = 'daily'}), 't',
		"$mode: rfm_model no longer records a job");
	is($node->safe_psql('postgres', q{SELECT rfm_unschedule('daily')}), 'f',
		"$mode: rfm_unschedule of an unscheduled model returns false");

	# rfm_drop_model of a scheduled model removes its job.
	my $again = $node->safe_psql('postgres', q{SELECT rfm_schedule('daily', '0 3 * * *')});
	$node->safe_psql('postgres', q{SELECT rfm_drop_model('daily')});
	is($node->safe_psql('postgres', qq{
		SELECT count(*) FROM cron.job WHERE command = 'CALL public.rfm_refresh(''daily'')' OR jobid = $again}),
		'0', "$mode: rfm_drop_model removes the model's job");
	is($node->safe_psql('postgres', q{SELECT count(*) FROM rfm_model WHERE name = 'daily'}), '0',
		"$mode: and the model");

	# The role unschedules its own model; and when a superuser drops the
	# role's scheduled model, the role's job goes with it.
	is($node->safe_psql('postgres', q{SELECT rfm_unschedule('shop')}, @$alice), 't',
		"$mode: the role unschedules its model");
	is($node->safe_psql('postgres', q{SELECT count(*) FROM cron.job WHERE command = 'CALL public.rfm_refresh(''shop'')'}), '0',
		"$mode: the role's job is gone");
	$node->safe_psql('postgres', q{SELECT rfm_schedule('shop', '0 3 * * *')}, @$alice);
	$node->safe_psql('postgres', q{SELECT rfm_drop_model('shop')});
	is($node->safe_psql('postgres', q{SELECT count(*) FROM cron.job WHERE command = 'CALL public.rfm_refresh(''shop'')'}), '0',
		"$mode: a superuser's rfm_drop_model removes the job the role scheduled");
}

$_->stop for values %nodes;

# pg_cron as a stock installation has it: cron.host = 'localhost' (TCP) and
# no background workers.  This cluster listens on a unix socket only, so
# every run would fail to connect: rfm_schedule says so and how to fix it,
# instead of scheduling a job that never runs.
my $stock = PostgreSQL::Test::Cluster->new('cron_stock');
$stock->init;
$stock->append_conf('postgresql.conf', "shared_preload_libraries = 'pg_cron'\ncron.database_name = 'postgres'\n");
$stock->start;
$stock->safe_psql('postgres', qq{
	CREATE EXTENSION pg_cron;
	CREATE EXTENSION rfm;
	CREATE TABLE orders (customer_id text, order_date date, revenue numeric,
	                     first_name text, last_name text, email text);
	COPY orders FROM '$csv' WITH (FORMAT csv, HEADER true);
	SELECT count(*) FROM rfm_create_model('daily', 'orders', 'customer_id', 'order_date', 'revenue');
});
my ($ret, $out, $err) = $stock->psql('postgres', q{SELECT rfm_schedule('daily', '0 3 * * *')});
like($err, qr/pg_cron would connect to "localhost" over TCP, but this server does not listen on TCP.*HINT:  .*cron\.use_background_workers = on.*cron\.host = '\//s,
	'stock pg_cron settings: rfm_schedule says the job could not connect, and how to fix it');
is($stock->safe_psql('postgres', 'SELECT count(*) FROM cron.job'), '0', 'and schedules nothing');
$stock->stop;

# As Debian's cluster has it: listening on localhost, pg_hba.conf asking TCP
# connections for a password (scram-sha-256).  A job could only log in with
# a ~/.pgpass of the server's OS user: rfm_schedule schedules, and warns.
$stock->append_conf('postgresql.conf', "listen_addresses = '127.0.0.1'\n");
# Debian's host lines (its local lines say peer; the test connects locally with trust)
PostgreSQL::Test::Utils::system_or_bail('sh', '-c', "grep -v '^host' '" . $stock->data_dir . "/pg_hba.conf' > '"
	  . $stock->data_dir . "/pg_hba.new' && mv '" . $stock->data_dir . "/pg_hba.new' '" . $stock->data_dir . "/pg_hba.conf'");
$stock->append_conf('pg_hba.conf',
	"host all all 127.0.0.1/32 scram-sha-256\nhost all all ::1/128 scram-sha-256\n");
$stock->start;
($ret, $out, $err) = $stock->psql('postgres', q{SELECT rfm_schedule('daily', '0 3 * * *') > 0});
is($out, 't', "Debian's pg_hba.conf: the job is scheduled");
like($err, qr/WARNING:  pg_cron will connect to "localhost" over TCP as role "\w+", and pg_hba.conf asks for scram-sha-256 authentication there.*HINT:  .*cron\.use_background_workers = on/s,
	"Debian's pg_hba.conf: rfm_schedule warns that the runs need a password, and how to avoid it");
$stock->stop;
done_testing();
