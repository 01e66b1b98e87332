"""
What Tutor renders with `tutor plugins enable pie`: compose files, Kubernetes manifests, the
Caddy route, PIE's settings file (checked by PIE's own `manage.py check --deploy`), the init
tasks that `tutor local do init` runs, and the LMS and credentials settings patches.
"""

import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml

pytest.importorskip("tutor", reason="Tutor is not installed here: run `make tutor-check`")
ABOUT = pytest.importorskip("tutorpie.__about__", reason="run `make tutor-check`")
# PIE_DOCKER_IMAGE's default.
IMAGE = f"pie:{ABOUT.__version__}"
TESTS = Path(__file__).resolve().parent
REPOSITORY = TESTS.parents[1]
# edx-platform's default (lms/envs/common.py), for running the LMS settings patch.
EDX_PLATFORM_RETIREMENT_STATES = [
    "PENDING",
    "LOCKING_ACCOUNT",
    "LOCKING_COMPLETE",
    "RETIRING_FORUMS",
    "FORUMS_COMPLETE",
    "RETIRING_EMAIL_LISTS",
    "EMAIL_LISTS_COMPLETE",
    "RETIRING_ENROLLMENTS",
    "ENROLLMENTS_COMPLETE",
    "RETIRING_NOTES",
    "NOTES_COMPLETE",
    "RETIRING_LMS",
    "LMS_COMPLETE",
    "ERRORED",
    "ABORTED",
    "COMPLETE",
]


def pie_block(text: str) -> str:
    """The lines a PIE settings patch added to a rendered Python settings file."""
    start = text.index("# PIE (tutor-contrib-pie)")
    return text[start : text.index("# End of PIE (tutor-contrib-pie)", start)]


def run_check_deploy(pie_python, root, tmp_path, *extra):
    """PIE's `manage.py check --deploy` on the rendered PIE_CFG, MySQL swapped for SQLite."""
    config = root.pie_cfg()
    config["DATABASE_URL"] = f"sqlite:///{tmp_path / 'pie.sqlite3'}"
    pie_cfg = tmp_path / "pie.yml"
    pie_cfg.write_text(yaml.safe_dump(config), encoding="utf-8")
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "SECRET_KEY", "ALLOWED_HOSTS", "JWT_ISSUERS"}
    }
    environment.update(
        PIE_CFG=str(pie_cfg),
        DJANGO_SETTINGS_MODULE="pie.settings.production",
    )
    return subprocess.run(
        [str(pie_python), "manage.py", "check", "--deploy", *extra],
        cwd=REPOSITORY,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )


# Configuration


def test_secrets_are_generated_once_and_kept_in_config_yml(default_root):
    config = default_root.config()
    for name in ("PIE_SECRET_KEY", "PIE_MYSQL_PASSWORD", "PIE_OAUTH2_SECRET_SSO"):
        assert config.get(name), f"{name} is not in config.yml"
    assert len(config["PIE_SECRET_KEY"]) >= 50
    default_root.tutor("config", "save")
    assert default_root.config() == config
    # Defaults stay out of config.yml, as Tutor does for its own.
    assert "PIE_HOST" not in config
    assert default_root.value("PIE_HOST") == "pie.local.openedx.io"


# PIE's settings file


def test_pie_cfg_carries_the_platforms_jwt_mysql_redis_and_origins(default_root):
    pie_cfg = default_root.pie_cfg()
    config = default_root.config()
    assert pie_cfg["SECRET_KEY"] == config["PIE_SECRET_KEY"]
    assert pie_cfg["ALLOWED_HOSTS"] == ["pie.local.openedx.io", "pie"]
    assert pie_cfg["DATABASE_URL"] == f"mysql://pie:{config['PIE_MYSQL_PASSWORD']}@mysql:3306/pie"
    assert pie_cfg["JWT_AUTH"]["JWT_ISSUERS"] == [
        {
            "ISSUER": default_root.value("JWT_COMMON_ISSUER"),
            "AUDIENCE": default_root.value("JWT_COMMON_AUDIENCE"),
            "SECRET_KEY": default_root.value("JWT_COMMON_SECRET_KEY"),
        }
    ]
    assert pie_cfg["JWT_AUTH"]["JWT_ISSUERS"][0]["ISSUER"] == "http://local.openedx.io/oauth2"
    jwk_set = yaml.safe_load(pie_cfg["JWT_AUTH"]["JWT_PUBLIC_SIGNING_JWK_SET"])
    assert [key["kid"] for key in jwk_set["keys"]] == ["openedx"]
    assert "d" not in jwk_set["keys"][0], "the private exponent must not reach PIE"
    origins = ["http://local.openedx.io", "http://apps.local.openedx.io"]
    assert pie_cfg["CORS_ORIGIN_WHITELIST"] == origins
    assert pie_cfg["CSRF_TRUSTED_ORIGINS"] == origins
    # The LMS's event bus in Tutor: apps/openedx/settings/partials/common_all.py.
    lms_settings = default_root.text("apps/openedx/settings/lms/production.py")
    assert "EVENT_BUS_REDIS_CONNECTION_URL = 'redis://@redis:6379/'" in lms_settings
    assert "EVENT_BUS_TOPIC_PREFIX = 'dev'" in lms_settings
    assert pie_cfg["EVENT_BUS_REDIS_CONNECTION_URL"] == "redis://@redis:6379/"
    assert pie_cfg["EVENT_BUS_TOPIC_PREFIX"] == "dev"
    assert pie_cfg["RETIREMENT_SERVICE_WORKER_USERNAME"] == "retirement_service_worker"
    assert pie_cfg["PIE_SERVICE_WORKER_USERNAMES"] == []
    assert pie_cfg["SECURE_SSL_REDIRECT"] is False
    # Staff sign-in: the pie-sso application that lms-job creates, the LMS inside and outside.
    assert pie_cfg["SOCIAL_AUTH_EDX_OAUTH2_KEY"] == "pie-sso"
    assert pie_cfg["SOCIAL_AUTH_EDX_OAUTH2_SECRET"] == config["PIE_OAUTH2_SECRET_SSO"]
    assert pie_cfg["SOCIAL_AUTH_EDX_OAUTH2_URL_ROOT"] == "http://lms:8000"
    assert pie_cfg["SOCIAL_AUTH_EDX_OAUTH2_PUBLIC_URL_ROOT"] == "http://local.openedx.io"
    assert pie_cfg["SOCIAL_AUTH_EDX_OAUTH2_LOGOUT_URL"] == "http://local.openedx.io/logout"


def test_special_characters_in_the_mysql_password_are_encoded(make_tutor_root):
    root = make_tutor_root(PIE_MYSQL_PASSWORD='p@ss:w/rd"x')
    assert root.pie_cfg()["DATABASE_URL"] == "mysql://pie:p%40ss%3Aw%2Frd%22x@mysql:3306/pie"


def test_pie_cfg_passes_check_deploy(default_root, pie_python, tmp_path):
    result = run_check_deploy(pie_python, default_root, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    # Plain HTTP (Tutor's default): Django reminds that there is no HTTPS redirect nor HSTS.
    warnings = set(re.findall(r"\(security\.(W\d+)\)", result.stdout + result.stderr))
    assert warnings <= {"W004", "W008"}, result.stdout + result.stderr


def test_https_pie_cfg_passes_check_deploy_without_a_warning(make_tutor_root, pie_python, tmp_path):
    root = make_tutor_root(ENABLE_HTTPS="true")
    pie_cfg = root.pie_cfg()
    assert pie_cfg["SECURE_SSL_REDIRECT"] is True
    assert pie_cfg["CORS_ORIGIN_WHITELIST"][0] == "https://local.openedx.io"
    assert pie_cfg["JWT_AUTH"]["JWT_ISSUERS"][0]["ISSUER"] == "https://local.openedx.io/oauth2"
    assert pie_cfg["SOCIAL_AUTH_EDX_OAUTH2_PUBLIC_URL_ROOT"] == "https://local.openedx.io"
    result = run_check_deploy(pie_python, root, tmp_path, "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


# tutor local


def test_compose_runs_pie_and_its_consumer_from_pies_image(default_root):
    services = default_root.yaml("local/docker-compose.yml")["services"]
    image = IMAGE
    pie = services["pie"]
    assert pie["image"] == image
    assert "command" not in pie, "pie runs the image's default command, serve (gunicorn)"
    assert pie["environment"]["PIE_CFG"] == "/etc/pie/pie.yml"
    assert pie["volumes"] == ["../plugins/pie/apps/pie.yml:/etc/pie/pie.yml:ro"]
    assert (default_root.env_dir / "local" / "../plugins/pie/apps/pie.yml").is_file()
    assert pie["depends_on"] == ["mysql"]
    consumer = services["pie-consumer"]
    assert consumer["image"] == image
    assert consumer["command"] == ["consume_intent_events"]
    assert consumer["environment"]["PIE_CFG"] == "/etc/pie/pie.yml"
    assert consumer["depends_on"] == ["mysql", "redis"]
    jobs = default_root.yaml("local/docker-compose.jobs.yml")["services"]
    assert jobs["pie-job"]["image"] == image
    assert jobs["pie-job"]["volumes"] == pie["volumes"]


def test_caddy_routes_pie_host_to_pie(default_root):
    caddyfile = default_root.text("apps/caddy/Caddyfile")
    route = re.search(
        r"^pie\.local\.openedx\.io\{\$default_site_port\} \{\n(.*?)\n\}", caddyfile, re.M | re.S
    )
    assert route, caddyfile
    assert 'import proxy "pie:18781"' in route.group(1)
    caddy = default_root.yaml("local/docker-compose.prod.yml")["services"]["caddy"]
    assert "pie.local.openedx.io" in caddy["networks"]["default"]["aliases"]


def test_init_runs_pies_tasks_in_mysql_lms_and_pie_jobs(default_root):
    calls = default_root.docker_calls("local", "do", "init", "--limit", "pie")
    runs = [call for call in calls if "run" in call]
    jobs = [call[call.index("run") + 3] for call in runs]
    assert jobs == ["mysql-job", "lms-job", "pie-job"]
    for call in runs:
        assert call[-4:-1] == ["sh", "-e", "-c"]
        syntax = subprocess.run(["sh", "-n", "-c", call[-1]], capture_output=True, text=True)
        assert syntax.returncode == 0, syntax.stderr
    mysql, lms, pie = (call[-1] for call in runs)
    config = default_root.config()
    assert "CREATE DATABASE IF NOT EXISTS \\`pie\\` CHARACTER SET utf8mb4" in mysql
    assert "CREATE USER IF NOT EXISTS 'pie'@'%'" in mysql
    assert f"ALTER USER 'pie'@'%' IDENTIFIED BY '{config['PIE_MYSQL_PASSWORD']}'" in mysql
    assert "GRANT ALL ON \\`pie\\`.* TO 'pie'@'%'" in mysql
    assert f'--password="{config["MYSQL_ROOT_PASSWORD"]}"' in mysql
    assert (
        "./manage.py lms manage_user retirement_service_worker "
        "retirement_service_worker@openedx --unusable-password"
    ) in lms
    assert "./manage.py lms populate_retirement_states" in lms
    sso = re.search(r"create_dot_application \\\n(.*?)\n  pie-sso \\\n  pie$", lms, re.S | re.M)
    assert sso, lms
    assert '--redirect-uris "http://pie.local.openedx.io/complete/edx-oauth2/"' in sso.group(1)
    assert f"--client-secret {config['PIE_OAUTH2_SECRET_SSO']}" in sso.group(1)
    assert "--grant-type authorization-code" in sso.group(1)
    assert "pie-retirement \\\n  retirement_service_worker" in lms
    assert pie.splitlines()[-1] == "python manage.py migrate --noinput"


def test_service_workers_get_lms_accounts(make_tutor_root):
    root = make_tutor_root(PIE_SERVICE_WORKER_USERNAMES='["registrar_worker", "ecommerce_worker"]')
    assert root.pie_cfg()["PIE_SERVICE_WORKER_USERNAMES"] == [
        "registrar_worker",
        "ecommerce_worker",
    ]
    lms = [
        call[-1]
        for call in root.docker_calls("local", "do", "init", "--limit", "pie")
        if "lms-job" in call
    ]
    for username in ("registrar_worker", "ecommerce_worker"):
        assert f"manage_user {username} {username}@openedx --unusable-password" in lms[0]


def test_images_push_pushes_pies_image(default_root):
    calls = default_root.docker_calls("images", "push", "pie")
    assert ["push", IMAGE] in calls


# tutor k8s


def test_kubernetes_deploys_pie_its_consumer_service_and_job(default_root):
    image = IMAGE
    deployments = {
        d["metadata"]["name"]: d for d in default_root.yaml_documents("k8s/deployments.yml")
    }
    for name in ("pie", "pie-consumer"):
        deployment = deployments[name]
        assert deployment["kind"] == "Deployment"
        spec = deployment["spec"]["template"]["spec"]
        assert (
            deployment["spec"]["selector"]["matchLabels"]
            == deployment["spec"]["template"]["metadata"]["labels"]
        )
        (container,) = spec["containers"]
        assert container["image"] == image
        assert {"name": "PIE_CFG", "value": "/etc/pie/pie.yml"} in container["env"]
        assert container["volumeMounts"] == [{"mountPath": "/etc/pie", "name": "config"}]
        assert spec["volumes"] == [{"name": "config", "configMap": {"name": "pie-config"}}]
    assert "args" not in deployments["pie"]["spec"]["template"]["spec"]["containers"][0]
    assert deployments["pie-consumer"]["spec"]["template"]["spec"]["containers"][0]["args"] == [
        "consume_intent_events"
    ]
    services = {s["metadata"]["name"]: s for s in default_root.yaml_documents("k8s/services.yml")}
    assert services["pie"]["spec"]["selector"] == {"app.kubernetes.io/name": "pie"}
    assert services["pie"]["spec"]["ports"][0]["port"] == 18781
    jobs = {j["metadata"]["name"]: j for j in default_root.yaml_documents("k8s/jobs.yml")}
    (job_container,) = jobs["pie-job"]["spec"]["template"]["spec"]["containers"]
    assert job_container["image"] == image
    kustomization = default_root.yaml("kustomization.yml")
    (generator,) = [g for g in kustomization["configMapGenerator"] if g["name"] == "pie-config"]
    assert generator["files"] == ["plugins/pie/apps/pie.yml"]
    assert (default_root.env_dir / generator["files"][0]).is_file()


# Non-default settings


def test_a_non_default_pie_host_reaches_the_route_settings_and_sso(make_tutor_root):
    root = make_tutor_root(PIE_HOST="intents.example.org")
    assert root.pie_cfg()["ALLOWED_HOSTS"] == ["intents.example.org", "pie"]
    caddyfile = root.text("apps/caddy/Caddyfile")
    assert "intents.example.org{$default_site_port} {" in caddyfile
    assert "pie.local.openedx.io" not in caddyfile
    caddy = root.yaml("local/docker-compose.prod.yml")["services"]["caddy"]
    assert "intents.example.org" in caddy["networks"]["default"]["aliases"]
    lms = [
        call[-1]
        for call in root.docker_calls("local", "do", "init", "--limit", "pie")
        if "lms-job" in call
    ]
    assert '--redirect-uris "http://intents.example.org/complete/edx-oauth2/"' in lms[0]


def test_consumer_off_means_no_consumer_service(make_tutor_root):
    root = make_tutor_root(PIE_RUN_CONSUMER="false")
    services = root.yaml("local/docker-compose.yml")["services"]
    assert "pie" in services
    assert "pie-consumer" not in services
    names = [d["metadata"]["name"] for d in root.yaml_documents("k8s/deployments.yml")]
    assert "pie" in names
    assert "pie-consumer" not in names


# The platform's side


def test_lms_settings_add_pies_retirement_states_and_worker(default_root):
    block = pie_block(default_root.text("apps/openedx/settings/lms/production.py"))
    namespace = {"RETIREMENT_STATES": list(EDX_PLATFORM_RETIREMENT_STATES)}
    exec(block, namespace)
    states = namespace["RETIREMENT_STATES"]
    assert states.index("RETIRING_PIE") + 1 == states.index("PIE_COMPLETE")
    assert states.index("PIE_COMPLETE") + 1 == states.index("RETIRING_LMS")
    assert namespace["RETIREMENT_SERVICE_WORKER_USERNAME"] == "retirement_service_worker"
    exec(block, namespace)  # the settings module is read again: no second pair
    assert namespace["RETIREMENT_STATES"].count("RETIRING_PIE") == 1


def test_credentials_publishes_program_certificate_events_on_pies_bus(make_tutor_root):
    root = make_tutor_root(plugins=("pie", "discovery", "credentials"))
    settings = root.text("plugins/credentials/apps/credentials/settings/production.py")
    block = pie_block(settings)
    awarded = "org.openedx.learning.program.certificate.awarded.v1"
    revoked = "org.openedx.learning.program.certificate.revoked.v1"
    badge = "org.openedx.learning.badge.awarded.v1"
    # credentials' settings/base.py: both program certificate topics present and disabled.
    topic = "learning-program-certificate-lifecycle"
    disabled = {"event_key_field": "program_certificate.program.uuid", "enabled": False}
    namespace = {
        "EVENT_BUS_PRODUCER_CONFIG": {
            awarded: {topic: dict(disabled)},
            revoked: {topic: dict(disabled)},
            badge: {
                "learning-badges-lifecycle": {"event_key_field": "badge.uuid", "enabled": False}
            },
        }
    }
    exec(block, namespace)
    config = namespace["EVENT_BUS_PRODUCER_CONFIG"]
    for event_type in (awarded, revoked):
        assert config[event_type] == {topic: {**disabled, "enabled": True}}
    assert config[badge]["learning-badges-lifecycle"]["enabled"] is False
    pie_cfg = root.pie_cfg()
    assert namespace["EVENT_BUS_PRODUCER"] == "edx_event_bus_redis.create_producer"
    assert namespace["EVENT_BUS_REDIS_CONNECTION_URL"] == pie_cfg["EVENT_BUS_REDIS_CONNECTION_URL"]
    assert namespace["EVENT_BUS_TOPIC_PREFIX"] == pie_cfg["EVENT_BUS_TOPIC_PREFIX"]
