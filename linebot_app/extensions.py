"""Flask extensions, created unbound and bound to the app in the factory."""

from flask_sqlalchemy_lite import SQLAlchemy

db = SQLAlchemy()
