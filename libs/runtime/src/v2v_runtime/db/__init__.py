"""Persistence shared by every service: tables, engine, migrations."""
