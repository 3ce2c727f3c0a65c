"""The local console front end (``circuitbot shell``): ``console`` runs it on the same Router as
Slack (with ``commands``, ``engines``, ``directory``, ``terminal``, ``forms`` and ``messages``),
``render`` draws Block Kit as terminal text, styled and wrapped by ``text``."""
