"""The identity service: staff accounts, passwords, logins, sessions and the credentials they yield."""
