"""The app shell's placeholder home for a module whose pages arrive with later issues."""
from django.urls import path
from django.views.generic import TemplateView


def module_home_path(*, title, description):
    view = TemplateView.as_view(template_name="shell/module_home.html", extra_context={"title": title, "description": description})
    return path("", view, name="index")
