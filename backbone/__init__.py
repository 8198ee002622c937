"""The shared event-sourced runtime every Wanqing service stands on; it never imports a service."""
