"""`/`: what `make run` prints and the admin's "View site" link lead to."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_root_redirects_to_the_api_docs(client):
    response = client.get("/", follow=True)
    assert response.redirect_chain == [(reverse("api-docs"), 302)]
    assert response.status_code == 200
    assert b"swagger-ui" in response.content


def test_the_admins_view_site_link_leads_to_the_api_docs(admin_client):
    page = admin_client.get("/admin/").content.decode()
    assert 'href="/">View site</a>' in page
    assert admin_client.get("/", follow=True).redirect_chain[-1][0] == reverse("api-docs")
