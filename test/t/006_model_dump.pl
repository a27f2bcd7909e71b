# Models survive pg_dump and restore.  Two models on the orders of
# test/data/rfm_data_orders.csv: one with fixed cut points and a fixed as_of,
# created by an ordinary role on a table of its own with awkward names, in a
# schema rfm_create_model creates, and refreshed twice as of past times; one
# quantile model of the superuser in an existing schema.  After a restore in
# plain format through psql and in custom format through pg_restore (also in
# one transaction), rfm_model and rfm_refresh_log hold the same rows, the
# views and history tables the same data with the same owners, a refresh
# works and continues the log's numbering, and rfm_drop_model removes what
# rfm_create_model made and nothing else.
#
# Also: ALTER EXTENSION rfm UPDATE from 1.0 with data gives what a new 1.1
# installation has; DROP EXTENSION with a model fails unless CASCADE, which
# drops the views only (and the columns of the extension's types of their
# tables); and the views' data do not depend on the time zone of the session
# that restores them.
use strict;
use warnings;
use Cwd qw(abs_path);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

# The restore refreshes the views in the time zone of its session: keep the
# caller's settings out, the server runs in UTC.
delete $ENV{PGTZ};
delete $ENV{PGOPTIONS};

my $csv = abs_path('test/data/rfm_data_orders.csv');
die "test/data/rfm_data_orders.csv not found (run from the source directory)"
  unless defined $csv && -r $csv;

my $node = PostgreSQL::Test::Cluster->new('main');
$node->init(extra => [ '--encoding=UTF8', '--locale=C' ]);
$node->append_conf('postgresql.conf', "timezone = 'UTC'\n");
$node->start;
my $dir = $node->basedir;

sub qi { my ($s) = @_; $s =~ s/"/""/g; return qq{"$s"}; }
sub ql { my ($s) = @_; $s =~ s/'/''/g; return qq{'$s'}; }

my $role = 'analyst';
my $src_schema = 'Sales Dept';
my $src_table = 'orders; DROP TABLE x';
my $source = qi($src_schema) . '.' . qi($src_table);
# [model name, schema] of the two models
my $fixed = 'dept "fixed"';
my $fixed_schema = 'RFM Models';
my $quantile = 'retail';
my $quantile_schema = 'analytics';
my @models = ([ $fixed, $fixed_schema ], [ $quantile, $quantile_schema ]);
my @suffixes = qw(_summary _fit _customers _segments _pareto _history);

# As the role, in a database.
sub as_role
{
	my ($db, $sql) = @_;
	return $node->safe_psql($db, $sql, extra_params => [ '-U', $role ]);
}

# ==== The source database ====

$node->safe_psql('postgres', "CREATE ROLE $role LOGIN; CREATE DATABASE src");
$node->safe_psql('src', qq{
	CREATE EXTENSION rfm;
	GRANT CREATE ON DATABASE src TO $role;
	CREATE SCHEMA ${\ qi($src_schema)} AUTHORIZATION $role;
	-- the table the source's name talks about
	CREATE TABLE public.x (kept integer);
	INSERT INTO public.x VALUES (1);
	-- an existing schema with something unrelated in it
	CREATE SCHEMA $quantile_schema;
	CREATE TABLE $quantile_schema.keep_me AS SELECT 1 AS unrelated;
	CREATE TABLE public.orders (customer_id text, order_date date, revenue numeric,
	                            first_name text, last_name text, email text);
	\\copy public.orders FROM ${\ ql($csv)} WITH (FORMAT csv, HEADER true)
});

# The role's model: its own table, columns with spaces and a yen sign, fixed
# scoring with the cut points of the first build, a schema to create.
as_role('src', qq{
	CREATE TABLE $source ("Customer ID" text, "Order Date" date, "Amount ¥" numeric,
	                      first_name text, last_name text, email text);
	\\copy $source FROM ${\ ql($csv)} WITH (FORMAT csv, HEADER true)
	SELECT count(*) FROM rfm_create_model(${\ ql($fixed)}, ${\ ql($source)}, 'Customer ID', 'Order Date', 'Amount ¥',
	                                      schema_name => ${\ ql($fixed_schema)}, scoring => 'fixed',
	                                      as_of => '2006-12-31 00:00+00');
	CALL rfm_refresh(${\ ql($fixed)}, '2005-12-31 00:00+00');
	CALL rfm_refresh(${\ ql($fixed)}, '2006-06-30 00:00+00');
});
# The superuser's quantile model, as of now, refreshed once more.
$node->safe_psql('src', qq{
	SELECT count(*) FROM rfm_create_model(${\ ql($quantile)}, 'public.orders', 'customer_id', 'order_date', 'revenue',
	                                      schema_name => ${\ ql($quantile_schema)});
	CALL rfm_refresh(${\ ql($quantile)});
});

# What a restore must keep.
sub rows_text
{
	my ($db, $table) = @_;
	return $node->safe_psql($db, "SELECT string_agg(t::text, E'\\n' ORDER BY t::text) FROM $table t");
}
# Rows and md5 of the ordered rows of every view and history table.  The
# history tables are dumped data and compared exactly; the views are
# recomputed by the restore, and their float8 columns compared to 10
# significant digits: _segments averages p_alive over the customers in the
# order of their rows, which a REFRESH ... CONCURRENTLY leaves different from
# a fresh build, so the last bits of a sum can differ.  Text, numeric,
# integers and times are compared exactly.
sub contents
{
	my ($db, @of) = @_;
	my (@views, @tables);
	for my $m (@of)
	{
		my ($name, $schema) = @$m;
		for my $s (@suffixes)
		{
			my $rel = qi($schema) . '.' . qi($name . $s);
			push @{ $s eq '_history' ? \@tables : \@views },
			  "SELECT ${\ ql($name . $s)} AS rel, count(*) AS n, "
			  . "md5(coalesce(string_agg(v::text, E'\\n' ORDER BY v::text), '')) AS md5 FROM $rel v";
		}
	}
	my $agg = 'SELECT string_agg(rel || \' \' || n || \' \' || md5, E\'\\n\' ORDER BY rel) FROM (';
	return $node->safe_psql($db, "SET extra_float_digits = -5;\n$agg" . join(' UNION ALL ', @views) . ') q')
	  . "\n" . $node->safe_psql($db, $agg . join(' UNION ALL ', @tables) . ') q');
}
# A plain dump, without the random key of \restrict.
sub plain_dump
{
	my ($db) = @_;
	my ($out, $err) = run_command([ 'pg_dump', '-d', $node->connstr($db) ]);
	die "pg_dump $db: $err" if $err ne '';
	$out =~ s/^\\(un)?restrict .*\n//mg;
	# a table's rows in a stable order: the dump writes them in the order
	# of the heap, which a refresh that replaces a snapshot may change
	$out =~ s/^(COPY [^\n]* FROM stdin;\n)(.*?)(^\\\.$)/$1 . join('', sort split(\/^\/m, $2)) . $3/gmse;
	return $out;
}
# Kind, populated, owner of every relation in the models' schemas, and the
# schemas' owners.
sub relations
{
	my ($db) = @_;
	return $node->safe_psql($db, qq{
		SELECT string_agg(format('%s.%s %s %s %s', n.nspname, c.relname, c.relkind, c.relispopulated,
		                         pg_get_userbyid(c.relowner)), E'\\n' ORDER BY n.nspname, c.relname)
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname IN (${\ ql($fixed_schema)}, ${\ ql($quantile_schema)}) AND c.relkind IN ('r', 'v', 'm')
		UNION ALL
		SELECT string_agg(nspname || ' owned by ' || pg_get_userbyid(nspowner), E'\\n' ORDER BY nspname)
		FROM pg_namespace WHERE nspname IN (${\ ql($fixed_schema)}, ${\ ql($quantile_schema)})});
}
sub breaks
{
	my ($db) = @_;
	return $node->safe_psql($db,
		"SELECT r_breaks::text || ' ' || f_breaks::text || ' ' || m_breaks::text FROM rfm_model WHERE name = ${\ ql($fixed)}");
}
sub sequence
{
	my ($db) = @_;
	return $node->safe_psql($db, 'SELECT last_value || \' \' || is_called FROM rfm_refresh_log_id_seq');
}
sub fixed_rel { return qi($fixed_schema) . '.' . qi($fixed . $_[0]); }

my %want = (
	model => rows_text('src', 'rfm_model'),
	log => rows_text('src', 'rfm_refresh_log'),
	contents => contents('src', @models),
	relations => relations('src'),
	breaks => breaks('src'),
	sequence => sequence('src'));
my $max_id = $node->safe_psql('src', 'SELECT max(id) FROM rfm_refresh_log');

# The source is as described.
is($max_id, '5', 'five refresh log entries: two creations, three refreshes');
is($node->safe_psql('src', "SELECT string_agg(as_of::date::text, ' ' ORDER BY as_of) FROM rfm_snapshots(${\ ql($fixed)})"),
	'2005-12-31 2006-06-30 2006-12-31', 'the fixed model has three snapshots');
is($node->safe_psql('src', "SELECT DISTINCT as_of FROM ${\ fixed_rel('_customers')}"),
	'2006-06-30 00:00:00+00', 'its views are as of its last refresh');
like($want{breaks}, qr/^\{[^{}]+(,[^{}]+){3}\} \{[^{}]+(,[^{}]+){3}\} \{[^{}]+(,[^{}]+){3}\}$/,
	'its fixed cut points come from the data: four each');
is($node->safe_psql('src', "SELECT count(*) FROM ${\ fixed_rel('_customers')} c, rfm_model m
	WHERE m.name = ${\ ql($fixed)}
	  AND (c.r_score, c.f_score, c.m_score) = (rfm_score(-c.recency, m.r_breaks), rfm_score(c.frequency::float8, m.f_breaks),
	                                           rfm_score(c.monetary::float8, m.m_breaks))"),
	$node->safe_psql('src', "SELECT count(*) FROM ${\ fixed_rel('_customers')}"),
	'its scores are those of its cut points');
# the five views, the history table, and the tables of the views: generation
# a again after the creation (a) and two refreshes (b, a)
my @fixed_rels = sort((map { "$fixed_schema.$fixed$_ " . ($_ eq '_history' ? 'r' : 'v') . " t $role" } @suffixes),
	map { "$fixed_schema.$fixed\$${_}_a r t $role" } qw(sum fit cus seg par rnk));
is(join("\n", grep { /^\Q$fixed_schema\E[. ]/ } split /\n/, $want{relations}),
	join("\n", @fixed_rels, "$fixed_schema owned by $role"),
	'the role owns the fixed model\'s views, history table and schema');
like($want{relations}, qr/^\Q$quantile_schema.${quantile}_customers v t\E/m, 'the quantile model has its customers view');

# ==== Dump and restore ====

$node->command_ok([ 'pg_dump', '-Fc', '-f', "$dir/src.dump", '-d', $node->connstr('src') ], 'pg_dump -Fc');
$node->command_ok([ 'pg_dump', '-f', "$dir/src.sql", '-d', $node->connstr('src') ], 'pg_dump plain');

$node->safe_psql('postgres', 'CREATE DATABASE dst_custom; CREATE DATABASE dst_single; CREATE DATABASE dst_plain');
$node->command_ok([ 'pg_restore', '--exit-on-error', '-d', $node->connstr('dst_custom'), "$dir/src.dump" ],
	'custom format: pg_restore without errors');
$node->command_ok(
	[ 'pg_restore', '--exit-on-error', '--single-transaction', '-d', $node->connstr('dst_single'), "$dir/src.dump" ],
	'custom format: pg_restore --single-transaction without errors');
$node->command_ok(
	[ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', $node->connstr('dst_plain'), '-f', "$dir/src.sql" ],
	'plain format: psql restores without errors');

my $src_again = plain_dump('src');

for my $db (qw(dst_custom dst_single dst_plain))
{
	is(rows_text($db, 'rfm_model'), $want{model}, "$db: rfm_model rows identical");
	is(rows_text($db, 'rfm_refresh_log'), $want{log}, "$db: rfm_refresh_log rows identical");
	is(sequence($db), $want{sequence}, "$db: rfm_refresh_log_id_seq where it was");
	is(contents($db, @models), $want{contents}, "$db: views and history tables hold the same rows");
	is(relations($db), $want{relations}, "$db: views populated, same owners (the role's model the role's)");
	is(breaks($db), $want{breaks}, "$db: the same fixed cut points");
	ok(plain_dump($db) eq $src_again, "$db: dumps the same as the source");

	# A refresh by the role continues the log and the history.
	as_role($db, "CALL rfm_refresh(${\ ql($fixed)}, '2006-09-30 00:00+00')");
	is($node->safe_psql($db, qq{
		SELECT id > $max_id, outcome, as_of, refreshed_by, customers = (SELECT count(*) FROM ${\ fixed_rel('_customers')})
		FROM rfm_refresh_log ORDER BY id DESC LIMIT 1}),
		"t|ok|2006-09-30 00:00:00+00|$role|t", "$db: the role refreshes its model, logged under a new number");
	is($node->safe_psql($db, "SELECT DISTINCT as_of::date FROM ${\ fixed_rel('_segments')}"),
		'2006-09-30', "$db: the views are as of the refresh");
	is($node->safe_psql($db, "SELECT count(*) FROM rfm_snapshots(${\ ql($fixed)})"), '4', "$db: a fourth snapshot");
	$node->safe_psql($db, "CALL rfm_refresh(${\ ql($quantile)})");
	is($node->safe_psql($db, "SELECT id > $max_id + 1, outcome, model FROM rfm_refresh_log ORDER BY id DESC LIMIT 1"),
		"t|ok|$quantile", "$db: the superuser's model refreshes");

	# rfm_drop_model removes what rfm_create_model made, and nothing else.
	as_role($db, "SELECT rfm_drop_model(${\ ql($fixed)})");
	$node->safe_psql($db, "SELECT rfm_drop_model(${\ ql($quantile)})");
	is($node->safe_psql($db, qq{
		SELECT count(*) FROM pg_class
		WHERE starts_with(relname, ${\ ql($fixed . '_')}) OR starts_with(relname, ${\ ql($quantile . '_')})
		   OR starts_with(relname, ${\ ql($fixed . '$')}) OR starts_with(relname, ${\ ql($quantile . '$')})}),
		'0', "$db: no relation of the models is left");
	is($node->safe_psql($db, "SELECT to_regnamespace(${\ ql(qi($fixed_schema))}) IS NULL"),
		't', "$db: the schema rfm_create_model created is gone");
	is($node->safe_psql($db, qq{
		SELECT (SELECT string_agg(relname, ',' ORDER BY relname) FROM pg_class
		        WHERE relnamespace = '$quantile_schema'::regnamespace AND relkind = 'r')
		       || ' ' || (SELECT unrelated FROM $quantile_schema.keep_me)
		       || ' ' || (SELECT count(*) FROM $source) || ' ' || (SELECT count(*) FROM public.orders)
		       || ' ' || (SELECT kept FROM public.x)}),
		'keep_me 1 4906 4906 1', "$db: the existing schema, its table, the sources and x are still there");
	is($node->safe_psql($db, 'SELECT (SELECT count(*) FROM rfm_model) + (SELECT count(*) FROM rfm_refresh_log)'),
		'0', "$db: no model row and no log entry left");
}

# ==== ALTER EXTENSION UPDATE from 1.0 with data ====

# What an installation consists of: members, configuration tables, initial
# privileges, policies.
sub installation
{
	my ($db) = @_;
	return $node->safe_psql($db, q{
		SELECT string_agg(d, E'\n' ORDER BY d) FROM (
		    SELECT 'member ' || pg_describe_object(classid, objid, objsubid) AS d
		    FROM pg_depend WHERE refclassid = 'pg_extension'::regclass AND deptype = 'e'
		      AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'rfm')
		    UNION ALL
		    SELECT 'config ' || c::regclass || ' ' || w
		    FROM pg_extension, unnest(extconfig, extcondition) AS u(c, w) WHERE extname = 'rfm'
		    UNION ALL
		    SELECT 'privileges ' || pg_describe_object(classoid, objoid, objsubid) || ' ' || initprivs::text
		    FROM pg_init_privs WHERE privtype = 'e'
		    UNION ALL
		    SELECT 'policy ' || polname || ' ' || polrelid::regclass || ' ' || polcmd::text || ' '
		           || coalesce(pg_get_expr(polqual, polrelid), '') || ' ' || coalesce(pg_get_expr(polwithcheck, polrelid), '')
		    FROM pg_policy
		    UNION ALL
		    SELECT 'rls ' || oid::regclass FROM pg_class WHERE relrowsecurity) q});
}

$node->safe_psql('postgres', 'CREATE DATABASE upd; CREATE DATABASE fresh');
$node->safe_psql('fresh', 'CREATE EXTENSION rfm');
$node->safe_psql('upd', qq{
	CREATE EXTENSION rfm VERSION '1.0';
	GRANT CREATE ON DATABASE upd TO $role;
	INSERT INTO rfm_lifecycle_settings (new_days, churn_days) VALUES (60, 300);
	INSERT INTO rfm_strategy (code, label_en, label_zh) VALUES ('nurture', 'Nurture', '培育');
	UPDATE rfm_segment_action SET strategy = 'nurture' WHERE segment = 'Champions';
	DELETE FROM rfm_segment_action WHERE segment = 'important_value';
	CREATE TABLE orders (customer_id text, order_date date, revenue numeric, first_name text, last_name text, email text);
	\\copy orders FROM ${\ ql($csv)} WITH (FORMAT csv, HEADER true)
	CREATE VIEW customer_stage AS
	SELECT customer_id, rfm_lifecycle(order_date, revenue, date '2006-12-31') AS stage FROM orders GROUP BY customer_id;
});
my $stages = q{SELECT md5(string_agg(customer_id || ' ' || stage, ',' ORDER BY customer_id)) FROM customer_stage};
my $rules = q{SELECT string_agg(segment || ' ' || strategy, ',' ORDER BY segment) FROM rfm_segment_action};
my $stages_1_0 = $node->safe_psql('upd', $stages);
my $rules_1_0 = $node->safe_psql('upd', $rules);
is($node->safe_psql('upd', 'SELECT extversion FROM pg_extension WHERE extname = \'rfm\''), '1.0', 'version 1.0 installed');

$node->safe_psql('upd', 'ALTER EXTENSION rfm UPDATE');
is($node->safe_psql('upd', 'SELECT extversion FROM pg_extension WHERE extname = \'rfm\''), '1.2', 'updated to 1.2');
is(installation('upd'), installation('fresh'), 'the update installs what CREATE EXTENSION installs');
is($node->safe_psql('upd', $stages), $stages_1_0, 'a view over 1.0 functions gives the same after the update');
is($node->safe_psql('upd', $rules), $rules_1_0, 'the changed rules are kept');
is($node->safe_psql('upd', 'SELECT new_days || \' \' || churn_days FROM rfm_lifecycle_settings'), '60 300',
	'the lifecycle settings are kept');
is(as_role('upd', q{SELECT rfm_strategy('Champions') || ' ' || rfm_label('nurture')}), 'nurture Nurture',
	'a role reads the rules');

# A model on the updated extension, by the role, on a table of its own.
as_role('upd', qq{
	CREATE SCHEMA shop;
	CREATE TABLE shop.orders (customer_id text, order_date date, revenue numeric,
	                          first_name text, last_name text, email text);
	\\copy shop.orders FROM ${\ ql($csv)} WITH (FORMAT csv, HEADER true)
	SELECT count(*) FROM rfm_create_model('m', 'shop.orders', 'customer_id', 'order_date', 'revenue',
	                                      schema_name => 'upd models', as_of => '2006-12-31 00:00+00');
	CALL rfm_refresh('m', '2006-06-30 00:00+00');
});
is($node->safe_psql('upd', q{SELECT strategy || ' ' || customers FROM "upd models"."m_segments" WHERE segment = 'Champions'}),
	$node->safe_psql('upd', q{SELECT 'nurture ' || count(*) FROM "upd models".m_customers WHERE segment = 'Champions'}),
	'the model uses the changed rules');
is($node->safe_psql('upd', q{SELECT string_agg(outcome, ',' ORDER BY id) FROM rfm_refresh_log}), 'ok,ok',
	'creation and refresh logged');

$node->command_ok([ 'pg_dump', '-Fc', '-f', "$dir/upd.dump", '-d', $node->connstr('upd') ], 'pg_dump of the updated database');
$node->safe_psql('postgres', 'CREATE DATABASE upd_copy');
$node->command_ok([ 'pg_restore', '--exit-on-error', '-d', $node->connstr('upd_copy'), "$dir/upd.dump" ],
	'the updated database restores without errors');
is(rows_text('upd_copy', 'rfm_model'), rows_text('upd', 'rfm_model'), 'updated database: rfm_model rows identical');
is(contents('upd_copy', [ 'm', 'upd models' ]), contents('upd', [ 'm', 'upd models' ]),
	'updated database: the model\'s data identical');

# ==== DROP EXTENSION with a model ====

my ($ret, $out, $err) = $node->psql('upd', 'DROP EXTENSION rfm');
isnt($ret, 0, 'DROP EXTENSION with a model fails');
like($err, qr/cannot drop extension rfm because other objects depend on it/, '... with a dependency error');
like($err, qr/view "upd models"\.m_summary depends on function rfm_model_visible/, '... naming the model\'s views');
is($node->safe_psql('upd', 'SELECT count(*) FROM pg_extension WHERE extname = \'rfm\''), '1', 'the extension is still there');

($ret, $out, $err) = $node->psql('upd', 'DROP EXTENSION rfm CASCADE');
is($ret, 0, 'DROP EXTENSION ... CASCADE succeeds');
like($err, qr/drop cascades to 9 other objects/, '... dropping nine objects');
my @dropped = sort grep { !/^\d+ other objects$/ } $err =~ /drop cascades to (.*)/g;
is(join("\n", @dropped), join("\n", sort('view customer_stage',
		(map { "view \"upd models\".m$_" } qw(_customers _fit _pareto _segments _summary)),
		map { "column $_ of table \"upd models\".\"m\$fit_b\"" } qw(bgnbd gamma_gamma pnbd))),
	'... the five views of the model, the fitted models\' columns of its _fit table and the user\'s view over rfm functions');
# What CASCADE leaves behind: the history table, the tables under the views,
# the schema rfm_create_model created and the sources; rfm_model, which knew
# about them, is gone.
is($node->safe_psql('upd', q{
	SELECT string_agg(n.nspname || '.' || c.relname, ',' ORDER BY n.nspname, c.relname)
	FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
	WHERE n.nspname IN ('public', 'shop', 'upd models') AND c.relkind IN ('r', 'v', 'm')}),
	'public.orders,shop.orders,upd models.m$cus_b,upd models.m$fit_b,upd models.m$par_b,upd models.m$rnk_b,upd models.m$seg_b,'
	. 'upd models.m$sum_b,upd models.m_history',
	'CASCADE leaves the history table, the views\' tables and the created schema');

# ==== The restoring session's time zone ====

# Models created in Tokyo, of a date column and of a timestamptz column
# whose orders fall near midnight.  A restore refreshes their views in the
# restoring session's time zone; the views pass the model's own zone to
# rfm_summary and rfm_lifecycle, so the data are the same in any zone.
$node->safe_psql('postgres', 'CREATE DATABASE tz; CREATE DATABASE tz_utc; CREATE DATABASE tz_tokyo');
$node->safe_psql('tz', qq{
	CREATE EXTENSION rfm;
	CREATE TABLE orders (customer_id text, order_date date, revenue numeric, first_name text, last_name text, email text);
	\\copy orders FROM ${\ ql($csv)} WITH (FORMAT csv, HEADER true)
	CREATE TABLE ts_orders AS
	SELECT customer_id, order_date + time '14:30' + (revenue::int % 3) * interval '40 minutes' AS ordered_at,
	       revenue
	FROM orders;
	ALTER TABLE ts_orders ALTER ordered_at TYPE timestamptz USING ordered_at AT TIME ZONE 'UTC';
	SET TimeZone = 'Asia/Tokyo';
	SELECT count(*) FROM rfm_create_model('tokyo', 'orders', 'customer_id', 'order_date', 'revenue',
	                                      as_of => '2006-12-31 00:00+09');
	SELECT count(*) FROM rfm_create_model('tokyo_ts', 'ts_orders', 'customer_id', 'ordered_at', 'revenue',
	                                      as_of => '2006-12-31 12:00+09', clv => false);
});
my $tokyo = contents('tz', [ 'tokyo', 'public' ]) . contents('tz', [ 'tokyo_ts', 'public' ]);
$node->command_ok([ 'pg_dump', '-Fc', '-f', "$dir/tz.dump", '-d', $node->connstr('tz') ], 'pg_dump of the Tokyo model');
$node->command_ok([ 'pg_restore', '--exit-on-error', '-d', $node->connstr('tz_utc'), "$dir/tz.dump" ],
	'restored in UTC');
{
	local $ENV{PGTZ} = 'Asia/Tokyo';
	$node->command_ok([ 'pg_restore', '--exit-on-error', '-d', $node->connstr('tz_tokyo'), "$dir/tz.dump" ],
		'restored with PGTZ=Asia/Tokyo');
}
is(contents('tz_tokyo', [ 'tokyo', 'public' ]) . contents('tz_tokyo', [ 'tokyo_ts', 'public' ]), $tokyo,
	'restored in the model\'s time zone: the same data');
is(contents('tz_utc', [ 'tokyo', 'public' ]) . contents('tz_utc', [ 'tokyo_ts', 'public' ]), $tokyo,
	'restored in another time zone (UTC): the same data, days counted in Tokyo');
# the days of the orders near midnight, counted in Tokyo and in UTC
my $days_in = sub {
	my ($zone) = @_;
	return $node->safe_psql('tz_utc', qq{
		SELECT sum(d) FROM (SELECT count(DISTINCT (ordered_at AT TIME ZONE '$zone')::date) AS d FROM ts_orders
		                    WHERE ordered_at <= '2006-12-31 12:00+09' GROUP BY customer_id) q});
};
is($node->safe_psql('tz_utc', 'SELECT sum(purchase_days) FROM tokyo_ts_summary'), $days_in->('Asia/Tokyo'),
	'the restored timestamptz model counts purchase days in Tokyo');
isnt($days_in->('UTC'), $days_in->('Asia/Tokyo'), '(which differ from the days in UTC: the test can fail)');
$node->safe_psql('tz_utc', q{CALL rfm_refresh('tokyo')});
is(contents('tz_utc', [ 'tokyo', 'public' ]), contents('tz', [ 'tokyo', 'public' ]),
	'rfm_refresh after the restore gives the same data too');

$node->stop;
done_testing();
