"""Where Twilio customer media may be fetched from with the account's credentials in play.

Twilio's MediaUrl is on api.twilio.com and answers with a redirect to a short-lived CDN
URL (mms.twiliocdn.com; media.twiliocdn.com for some accounts). Anything else in a
MediaUrl or a redirect hop is refused; the rule itself (https, default port, no
credentials in the URL) is shared with the Meta bridge in whatsapp_common.media_urls.
"""

from __future__ import annotations

from dataclasses import dataclass

from bridges.whatsapp_common.media_urls import MediaUrlPolicy, origin_of

__all__ = ["TWILIO_MEDIA_HOSTS", "MediaPolicy", "origin_of"]

TWILIO_MEDIA_HOSTS = ("api.twilio.com", "*.twilio.com", "*.twiliocdn.com")


@dataclass(frozen=True)
class MediaPolicy(MediaUrlPolicy):
    hosts: tuple[str, ...] = TWILIO_MEDIA_HOSTS
    owner: str = "Twilio"
