"""A strict Content Security Policy: every asset is vendored, no inline script. The product's 404 under DEBUG."""
from django.conf import settings
from django.shortcuts import render

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'self'; frame-ancestors 'none'; form-action 'self'"
)


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.setdefault("Content-Security-Policy", CSP)
        return response


class ProductNotFoundPageMiddleware:
    """Under DEBUG (bin/dev) Django answers a 404 with its technical page; show the product's own, with a way back."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            settings.DEBUG and response.status_code == 404
            and response.get("Content-Type", "").startswith("text/html") and not getattr(response, "product_page", False)
        ):
            response = render(request, "404.html", status=404)
            response.product_page = True
        return response
