"""SQLAlchemy Core storage for Threadline: tables, repositories, unit of work, outbox, migrations.

Works on SQLite (aiosqlite) and PostgreSQL (asyncpg). Repositories use Core statements on
one AsyncConnection per unit of work; they never commit.
"""
