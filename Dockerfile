# The `warehouse` console as a container image: built with the .NET 10 SDK, run on the .NET 10
# runtime (framework-dependent, so one image builds on amd64 and arm64 alike).
#
#   docker build -t warehouse .
#   docker run --rm -e WAREHOUSE_ENGINE=postgres -e WAREHOUSE_CONNECTION="Host=db;..." \
#       -v "$PWD/exports:/inbox:ro" warehouse load /inbox
#   docker run --rm -v "$PWD/demo:/data" warehouse demo      # embedded DuckDB in /data
#
# docker-compose.yml runs it as the `loader` service (watch on a schedule against SQL Server).

FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src

# Restore first, from the project file and the central package versions only, so the package
# layer is reused until a dependency changes.
COPY global.json Directory.Build.props Directory.Packages.props ./
COPY etl/Warehouse.Etl/Warehouse.Etl.csproj etl/Warehouse.Etl/
RUN dotnet restore etl/Warehouse.Etl/Warehouse.Etl.csproj

# The migrations and views are embedded resources of the console (../../db/**/*.sql).
COPY db/ db/
COPY reports/sql/ reports/sql/
COPY reports/assets/ reports/assets/
COPY etl/Warehouse.Etl/ etl/Warehouse.Etl/
# bin/ and obj/ from a developer's checkout hold paths of their machine: drop them (the
# .dockerignore keeps them out of the context too) and publish from the restored packages.
RUN rm -rf etl/Warehouse.Etl/bin etl/Warehouse.Etl/obj \
    && dotnet publish etl/Warehouse.Etl/Warehouse.Etl.csproj -c Release -o /app -p:UseAppHost=false

FROM mcr.microsoft.com/dotnet/runtime:10.0 AS runtime
WORKDIR /app
COPY --from=build /app ./

# `warehouse ...` on the PATH, for `docker compose exec loader warehouse status`.
# /data is the working directory: appsettings.json may be mounted there, and a DuckDB warehouse
# (the default engine) is written there. The inbox, archive and quarantine folders exist and
# belong to the non-root `app` user (APP_UID, 1654 in the .NET images), so named volumes
# mounted on them start writable.
RUN printf '#!/bin/sh\nexec dotnet /app/warehouse.dll "$@"\n' > /usr/local/bin/warehouse \
    && chmod 0755 /usr/local/bin/warehouse \
    && mkdir -p /data /inbox /archive /quarantine \
    && chown "$APP_UID" /data /inbox /archive /quarantine

WORKDIR /data
USER $APP_UID

# dotnet is PID 1 (exec form), so `docker stop` (SIGTERM) reaches the console, which cancels the
# batch in progress (its transaction rolls back) and exits.
ENTRYPOINT ["dotnet", "/app/warehouse.dll"]
CMD ["--help"]
