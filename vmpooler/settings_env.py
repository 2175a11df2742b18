"""Environment overrides of ``vmpooler.yaml`` (vmpooler 1.3.0's variables).

Unlike 1.3.0, booleans are real (``false`` is false) and a value that is not a
number where one is needed is an error, not silently ignored.
"""

from __future__ import annotations

from typing import Any, Mapping

_INT_A = {  # env var -> (section, key): applied when set
    "TASK_LIMIT": ("config", "task_limit"),
    "ONDEMAND_CLONE_LIMIT": ("config", "ondemand_clone_limit"),
    "MAX_ONDEMAND_INSTANCES_PER_REQUEST": ("config", "max_ondemand_instances_per_request"),
    "MIGRATION_LIMIT": ("config", "migration_limit"),
    "VM_CHECKTIME": ("config", "vm_checktime"),
    "VM_LIFETIME": ("config", "vm_lifetime"),
    "MAX_LIFETIME_UPPER_LIMIT": ("config", "max_lifetime_upper_limit"),
    "READY_TTL": ("config", "ready_ttl"),
    "ONDEMAND_REQUEST_TTL": ("config", "ondemand_request_ttl"),
    "TIMEOUT": ("config", "timeout"),
    "VM_LIFETIME_AUTH": ("config", "vm_lifetime_auth"),
    "MAX_TRIES": ("config", "max_tries"),
    "RETRY_FACTOR": ("config", "retry_factor"),
    "MAX_VM_RETRIES": ("config", "max_vm_retries"),
    "REDIS_PORT": ("redis", "port"),
    "REDIS_DATA_TTL": ("redis", "data_ttl"),
    "REDIS_CONNECTION_POOL_SIZE": ("redis", "connection_pool_size"),
    "REDIS_CONNECTION_POOL_TIMEOUT": ("redis", "connection_pool_timeout"),
    "REDIS_RECONNECT_ATTEMPTS": ("redis", "reconnect_attempts"),
    "REDIS_DB": ("redis", "db"),
    "REDIS_WAIT_REPLICAS": ("redis", "wait_replicas"),
}
_FLOAT = {
    "REDIS_CONNECT_TIMEOUT": ("redis", "connect_timeout"),
    "REDIS_SOCKET_TIMEOUT": ("redis", "socket_timeout"),
}
_STR = {
    "PREFIX": ("config", "prefix"),
    "LOGFILE": ("config", "logfile"),
    "SITE_NAME": ("config", "site_name"),
    "DOMAIN": ("config", "domain"),
    "CLONE_TARGET": ("config", "clone_target"),
    "REDIS_SERVER": ("redis", "server"),
    "REDIS_PASSWORD": ("redis", "password"),
    "REDIS_URL": ("redis", "url"),
    "REDIS_USERNAME": ("redis", "username"),
    "REDIS_SENTINELS": ("redis", "sentinels"),
    "REDIS_SENTINEL_MASTER": ("redis", "sentinel_master"),
    "REDIS_SENTINEL_PASSWORD": ("redis", "sentinel_password"),
    "REDIS_SSL_CA_FILE": ("redis", "ssl_ca_file"),
    "REDIS_SSL_CERT_FILE": ("redis", "ssl_cert_file"),
    "REDIS_SSL_KEY_FILE": ("redis", "ssl_key_file"),
    "CELERY_BROKER_URL": ("celery", "broker_url"),
}
_BOOL = {
    "CREATE_FOLDERS": ("config", "create_folders"),
    "EXPERIMENTAL_FEATURES": ("config", "experimental_features"),
    "PURGE_UNCONFIGURED_RESOURCES": ("config", "purge_unconfigured_resources"),
    "PURGE_UNCONFIGURED_FOLDERS": ("config", "purge_unconfigured_resources"),
    "USAGE_STATS": ("config", "usage_stats"),
    "REQUEST_LOGGER": ("config", "request_logger"),
    "CREATE_TEMPLATE_DELTA_DISKS": ("config", "create_template_delta_disks"),
    "CREATE_LINKED_CLONES": ("config", "create_linked_clones"),
    "CHECK_READY_VM_ON_CHECKOUT": ("config", "check_ready_vm_on_checkout"),
    "REDIS_SSL": ("redis", "ssl"),
}
_TRUE = {"true", "yes", "1", "on"}
_FALSE = {"false", "no", "0", "off", ""}


def apply_env(raw: dict, env: Mapping[str, str], problems: list[str]) -> dict:
    def put(section: str, key: str, value: Any) -> None:
        target = raw.get(section)
        if not isinstance(target, dict):
            target = raw[section] = {}
        target[key] = value

    for var, (section, key) in _INT_A.items():
        if var in env:
            text = env[var].strip()
            try:
                put(section, key, int(text))
            except ValueError:
                problems.append(f"{var}: must be a whole number, got '{env[var]}'")
    for var, (section, key) in _FLOAT.items():
        if var in env:
            try:
                put(section, key, float(env[var].strip()))
            except ValueError:
                problems.append(f"{var}: must be a number of seconds, got '{env[var]}'")
    for var, (section, key) in _STR.items():
        if env.get(var):
            put(section, key, env[var])
    for var, (section, key) in _BOOL.items():
        if var in env:
            text = env[var].strip().lower()
            if text in _TRUE or text in _FALSE:
                put(section, key, text in _TRUE)
            else:
                problems.append(f"{var}: must be true or false, got '{env[var]}'")
    for name in ("statsd", "graphite"):
        upper = name.upper()
        if env.get(f"{upper}_SERVER"):
            put(name, "server", env[f"{upper}_SERVER"])
        for suffix, key, cast in (("PREFIX", "prefix", str), ("PORT", "port", int)):
            var = f"{upper}_{suffix}"
            if env.get(var):
                if not isinstance(raw.get(name), dict):
                    problems.append(f"{var}: set {upper}_SERVER or a {name} section as well")
                    continue
                try:
                    put(name, key, cast(env[var]))
                except ValueError:
                    problems.append(f"{var}: must be a whole number, got '{env[var]}'")
    _apply_auth_env(raw, env, problems, put)
    return raw


def _apply_auth_env(raw: dict, env: Mapping[str, str], problems: list[str], put) -> None:
    if env.get("AUTH_PROVIDER"):
        put("auth", "provider", env["AUTH_PROVIDER"])
    ldap_vars = {"LDAP_HOST": "host", "LDAP_PORT": "port", "LDAP_BASE": "base", "LDAP_USER_OBJECT": "user_object"}
    if not any(env.get(var) for var in ldap_vars):
        return
    auth = raw.get("auth")
    if not isinstance(auth, dict):
        auth = raw["auth"] = {}
    ldap = auth.get("ldap")
    if not isinstance(ldap, dict):
        ldap = auth["ldap"] = {}
    for var, key in ldap_vars.items():
        if env.get(var):
            if key == "port":
                try:
                    ldap[key] = int(env[var])
                except ValueError:
                    problems.append(f"{var}: must be a whole number, got '{env[var]}'")
            else:
                ldap[key] = env[var]
