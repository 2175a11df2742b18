"""A throwaway OpenLDAP server for the LDAP tests: its own cn=config in a temp dir,
a free port on 127.0.0.1, users added with ldapadd."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time

SUFFIX = "dc=example,dc=com"
ADMIN_DN = f"cn=admin,{SUFFIX}"
ADMIN_PASSWORD = "admin-secret"
SERVICE_DN = f"cn=svc,{SUFFIX}"
SERVICE_PASSWORD = "svc-secret"

USERS = f"""
dn: {SUFFIX}
objectClass: dcObject
objectClass: organization
dc: example
o: Example

dn: ou=people,{SUFFIX}
objectClass: organizationalUnit
ou: people

dn: ou=staff,{SUFFIX}
objectClass: organizationalUnit
ou: staff

dn: ou=deep,ou=people,{SUFFIX}
objectClass: organizationalUnit
ou: deep

dn: uid=alice,ou=people,{SUFFIX}
objectClass: inetOrgPerson
uid: alice
cn: Alice
sn: A
userPassword: alice-pw

dn: cn=bob,ou=staff,{SUFFIX}
objectClass: inetOrgPerson
cn: bob
sn: B
userPassword: bob-pw

dn: uid=carol,ou=deep,ou=people,{SUFFIX}
objectClass: inetOrgPerson
uid: carol
cn: Carol
sn: C
userPassword: carol-pw

dn: {SERVICE_DN}
objectClass: organizationalRole
objectClass: simpleSecurityObject
cn: svc
userPassword: {SERVICE_PASSWORD}
"""


def find_program(name: str) -> str | None:
    return shutil.which(name) or next((path for path in (f"/usr/sbin/{name}", f"/usr/local/sbin/{name}")
                                       if os.access(path, os.X_OK)), None)


def _first_dir(patterns: list[str], marker: str) -> str:
    for pattern in patterns:
        for path in glob.glob(pattern):
            if os.path.exists(os.path.join(path, marker)):
                return path
    raise RuntimeError(f"cannot find {marker} of the OpenLDAP installation")


def _config(workdir: str) -> str:
    schema_dir = _first_dir(["/etc/ldap/schema", "/etc/openldap/schema", "/usr/share/openldap/schema"],
                            "core.ldif")
    module_dir = _first_dir(["/usr/lib/ldap", "/usr/lib/*/ldap", "/usr/lib64/openldap", "/usr/lib/openldap",
                             "/usr/libexec/openldap"], "back_mdb.so")
    parts = [f"""dn: cn=config
objectClass: olcGlobal
cn: config
olcPidFile: {workdir}/slapd.pid

dn: cn=module{{0}},cn=config
objectClass: olcModuleList
cn: module{{0}}
olcModulePath: {module_dir}
olcModuleLoad: back_mdb

dn: cn=schema,cn=config
objectClass: olcSchemaConfig
cn: schema
"""]
    for name in ("core", "cosine", "inetorgperson"):
        parts.append(f"include: file://{schema_dir}/{name}.ldif\n")
    parts.append(f"""
dn: olcDatabase={{1}}mdb,cn=config
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: {{1}}mdb
olcSuffix: {SUFFIX}
olcRootDN: {ADMIN_DN}
olcRootPW: {ADMIN_PASSWORD}
olcDbDirectory: {workdir}/data
olcAccess: to attrs=userPassword by self read by anonymous auth by * none
olcAccess: to * by users read by * none
""")
    return "\n".join(parts)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Slapd:
    def __init__(self):
        self.slapd = find_program("slapd")
        self.slapadd = find_program("slapadd")
        self.ldapadd = find_program("ldapadd")
        self.workdir = tempfile.mkdtemp(prefix="vmpooler-slapd-")
        self.port = _free_port()
        self.url = f"ldap://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def start(self) -> Slapd:
        config_dir = os.path.join(self.workdir, "slapd.d")
        os.makedirs(config_dir)
        os.makedirs(os.path.join(self.workdir, "data"))
        config = os.path.join(self.workdir, "config.ldif")
        with open(config, "w") as handle:
            handle.write(_config(self.workdir))
        subprocess.run([self.slapadd, "-n", "0", "-F", config_dir, "-l", config], check=True,
                       capture_output=True)
        self.log = os.path.join(self.workdir, "slapd.log")
        with open(self.log, "w") as log:
            self.process = subprocess.Popen([self.slapd, "-d", "0", "-h", self.url + "/", "-F", config_dir],
                                            stdout=log, stderr=subprocess.STDOUT)
        users = os.path.join(self.workdir, "users.ldif")
        with open(users, "w") as handle:
            handle.write(USERS)
        deadline = time.monotonic() + 15
        while True:
            added = subprocess.run([self.ldapadd, "-x", "-H", self.url, "-D", ADMIN_DN, "-w", ADMIN_PASSWORD,
                                    "-f", users], capture_output=True, text=True)
            if added.returncode == 0:
                return self
            if self.process.poll() is not None or time.monotonic() > deadline:
                with open(self.log) as log:
                    output = log.read()
                self.stop()
                raise RuntimeError(f"slapd did not start: {added.stderr}\n{output}")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.workdir, ignore_errors=True)
