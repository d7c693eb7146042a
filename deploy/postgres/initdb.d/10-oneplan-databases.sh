#!/bin/bash
# Run once by the postgres image on an empty data volume: one database and one owner role per
# OnePlan service, named oneplan_<service>, so no service can read another's tables.
# ONEPLAN_SERVICES lists the services; DB_PASSWORD_<SERVICE> holds each role's password.
set -euo pipefail

for service in $ONEPLAN_SERVICES; do
    password_var="DB_PASSWORD_${service^^}"
    password="${!password_var:?set $password_var}"
    name="oneplan_${service}"
    echo "creating role and database $name"
    psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
        -v name="$name" -v password="$password" <<'SQL'
CREATE ROLE :"name" LOGIN PASSWORD :'password';
CREATE DATABASE :"name" OWNER :"name";
REVOKE ALL ON DATABASE :"name" FROM PUBLIC;
SQL
done
