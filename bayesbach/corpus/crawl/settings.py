"""What a crawl may do: the options (``corpus.web`` of the config) and the Scrapy settings they make.

The defaults here are the defaults of the config schema too (a test keeps the
two equal): polite to the archives by default, fast only when asked (the tests
and the benchmark turn the delays off against a server of their own).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from bayesbach import __version__

# The archives the study's corpus was crawled from (docs/science.md, "Stimulus").
DEFAULT_START_URLS = [
    "http://www.jsbach.net/midi/",
    "https://www.metronimo.com/fr/midi/index.php?page=Bach",
    "http://piano-midi.de/bach.htm",
    "https://sound.jp/bach-ken/en/midi-list.html",
    "http://www.dardel.info/musique/Bach.html",
    "https://www.classicalarchives.com/prs/free.html",
    *(f"https://suzumidi.com/en/bach{i}.htm" for i in range(1, 7)),
]
# Links to pages are followed only when their path and query (never the host: "bach" is in jsbach.net)
# match one of these case-insensitive regular expressions, or lie below a start URL that is a folder:
# listing pages of these archives name Bach (docs/crawling.md).
DEFAULT_FOLLOW = ["bach", "bwv"]
# ... and never when they match one of these: pages that list nothing or change state.
DEFAULT_DENY = [r"log-?in", r"log-?out", r"sign-?up", r"register", r"cart", r"basket", r"account", r"search", r"forum"]
USER_AGENT = (f"bayesbach/{__version__} (research crawler collecting J. S. Bach MIDI files for a study of "
              "perception and prediction; obeys robots.txt, one request at a time)")


# The options that decide what a crawl keeps; the others (pauses, retries, timeouts, the User-Agent)
# only decide how politely it gets there, so changing them must not redo the crawl and what follows.
RESULT_KEYS = ("start_urls", "follow", "deny", "depth", "robots_txt", "max_file_mb", "max_unzipped_mb", "max_zip_members")


@dataclass(frozen=True)
class CrawlOptions:
    """One crawl's options; the field names are the keys of ``corpus.web`` in the config."""

    start_urls: list[str] = field(default_factory=lambda: list(DEFAULT_START_URLS))
    follow: list[str] = field(default_factory=lambda: list(DEFAULT_FOLLOW))
    deny: list[str] = field(default_factory=lambda: list(DEFAULT_DENY))
    depth: int = 3  # links followed away from a start URL
    delay_s: float = 2.0  # pause between two requests to one site (AutoThrottle's starting point)
    autothrottle: bool = True  # adapt the pause to the site's response times
    robots_txt: bool = True
    user_agent: str = USER_AGENT
    max_file_mb: float = 16.0  # larger downloads (pages, MIDI, zip) are abandoned
    max_unzipped_mb: float = 64.0  # a zip whose MIDI members unpack to more is rejected
    max_zip_members: int = 2000  # a zip with more members is rejected
    timeout_s: float = 30.0
    retries: int = 3  # on 5xx, 408, 429 and connection errors
    backoff_s: float = 2.0  # wait before the first retry, doubled at each further one
    require_all: bool = False  # fail the crawl when any start URL fails (by default only when none gave a file)

    @classmethod
    def from_config(cls, web: dict) -> CrawlOptions:
        """Options from ``config["corpus"]["web"]`` (unknown keys are the schema's business)."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in web.items() if k in names})

    def impolite(self) -> CrawlOptions:
        """The same crawl without pauses: for a test server of our own, never for a real archive."""
        return CrawlOptions(**{**asdict(self), "delay_s": 0.0, "autothrottle": False, "backoff_s": 0.0})


def scrapy_settings(options: CrawlOptions, state_dir: Path) -> dict:
    """Scrapy settings for a crawl whose resumable state lives in ``state_dir``."""
    mb = 1024 * 1024
    return {
        "BOT_NAME": "bayesbach",
        "USER_AGENT": options.user_agent,
        "ROBOTSTXT_OBEY": options.robots_txt,
        # One request at a time per site, spaced out, slower when the site is slow.
        "CONCURRENT_REQUESTS": 8,
        "CONCURRENT_REQUESTS_PER_DOMAIN": 1,
        "DOWNLOAD_DELAY": options.delay_s,
        "DOWNLOAD_DELAY_JITTER": 0.5 if options.delay_s > 0 else 0.0,  # pauses of 0.5 to 1.5 times the delay
        "AUTOTHROTTLE_ENABLED": options.autothrottle,
        "AUTOTHROTTLE_START_DELAY": max(options.delay_s, 0.1),
        "AUTOTHROTTLE_MAX_DELAY": 60.0,
        "AUTOTHROTTLE_TARGET_CONCURRENCY": 1.0,
        "DOWNLOAD_TIMEOUT": options.timeout_s,
        "DOWNLOAD_MAXSIZE": int(options.max_file_mb * mb),
        "DOWNLOAD_WARNSIZE": 0,
        "DEPTH_LIMIT": options.depth + 1,  # files sit one link below the deepest page followed
        "DEPTH_PRIORITY": 1,  # breadth first: listing pages before what they link to
        "RETRY_ENABLED": options.retries > 0,
        "RETRY_TIMES": options.retries,
        "RETRY_HTTP_CODES": [500, 502, 503, 504, 522, 524, 408, 429],
        "BACKOFF_SECONDS": options.backoff_s,
        "DOWNLOADER_MIDDLEWARES": {
            "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
            "bayesbach.corpus.crawl.middlewares.BackoffRetryMiddleware": 550,
            "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
            "bayesbach.corpus.crawl.middlewares.RobotsTxtForAll": 100,
        },
        "ITEM_PIPELINES": {"bayesbach.corpus.crawl.pipelines.StorePipeline": 300},
        # Resumable: the queue of pending requests and the requests seen live in
        # JOBDIR, serialised with marshal (plain data) rather than pickle.
        "JOBDIR": str(state_dir / "job"),
        "SCHEDULER_DISK_QUEUE": "scrapy.squeues.MarshalFifoDiskQueue",
        "SCHEDULER_MEMORY_QUEUE": "scrapy.squeues.FifoMemoryQueue",
        "EXTENSIONS": {"scrapy.extensions.spiderstate.SpiderState": None, "scrapy.extensions.telnet.TelnetConsole": None},
        "TELNETCONSOLE_ENABLED": False,
        "LOG_LEVEL": "INFO",
    }
