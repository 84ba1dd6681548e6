import * as AsciinemaPlayer from 'asciinema-player';
import 'asciinema-player/dist/bundle/asciinema-player.css';
import { append, clear, h } from './dom.js';

export interface ReplayIndex {
  duration: number;
  markers: Array<[number, string]>;
  segments: Array<{ start: number; url: string }>;
  custos: { events: number; bytes: number; segments: number };
}

export interface PlayerHandle {
  player: AsciinemaPlayer.Player;
  dispose(): void;
}

const SPEEDS = [0.5, 1, 2, 4, 8, 16];

/**
 * Replays a recording from the gateway's segmented index: the player fetches the small
 * index, then only the segment it plays (each starts from a terminal snapshot), so a long
 * recording starts at once and seeking loads one segment. Speed changes re-create the
 * player at the current position.
 */
export function mountReplay(container: HTMLElement, indexUrl: string, index: ReplayIndex): PlayerHandle {
  const stage = h('div', { class: 'player', 'data-testid': 'player' });
  const speed = h('select', { 'aria-label': 'Speed', 'data-testid': 'speed' }, ...SPEEDS.map((value) => h('option', { value: String(value) }, `${value}×`)));
  speed.value = '1';
  const markerList = h('ol', { class: 'markers', 'data-testid': 'markers' });

  function create(startAt: number, rate: number, autoPlay: boolean): AsciinemaPlayer.Player {
    clear(stage);
    return AsciinemaPlayer.create({ url: indexUrl, format: 'segmented' } as unknown as AsciinemaPlayer.Source, stage, {
      autoPlay,
      preload: true,
      startAt,
      speed: rate,
      fit: 'width',
      terminalFontSize: '14px',
      controls: true,
    });
  }

  speed.addEventListener('change', () => {
    const at = player.getCurrentTime() ?? 0;
    player.dispose();
    player = create(at, Number(speed.value), true);
    handle.player = player;
  });

  for (const [at, label] of index.markers.slice(0, 500)) {
    append(
      markerList,
      h(
        'li',
        {},
        h(
          'button',
          {
            type: 'button',
            class: 'link',
            onclick: () => void handle.player.seek(at),
          },
          `${formatClock(at)}  ${label}`,
        ),
      ),
    );
  }

  clear(container);
  append(
    container,
    stage,
    h(
      'div',
      { class: 'player-bar' },
      h('label', {}, 'Speed ', speed),
      h('span', { class: 'hint' }, 'Space: play/pause · ←/→: seek · [ ]: previous/next marker · click the timeline to seek'),
      h('span', { class: 'hint' }, `${formatClock(index.duration)} · ${index.custos.segments} segment(s) · ${index.custos.events} events`),
    ),
    index.markers.length ? h('details', { class: 'marker-box', open: true }, h('summary', {}, `Markers (${index.markers.length})`), markerList) : null,
  );
  // Created once its element is in the document: the player reads its colour theme from
  // the element's computed style when it mounts.
  let player = create(0, 1, true);
  const handle: PlayerHandle = {
    player,
    dispose: () => handle.player.dispose(),
  };
  return handle;
}

/** Watches a live session: the asciicast stream over WebSocket, played as it arrives. */
export function mountLive(container: HTMLElement, wsUrl: string): PlayerHandle {
  const stage = h('div', { class: 'player', 'data-testid': 'player' });
  clear(container);
  append(container, h('p', { class: 'live-badge' }, '● live'), stage);
  // After the element is in the document (see mountReplay).
  const player = AsciinemaPlayer.create({ driver: 'websocket', url: wsUrl, bufferTime: 0 } as unknown as AsciinemaPlayer.Source, stage, {
    autoPlay: true,
    fit: 'width',
    terminalFontSize: '14px',
  });
  return { player, dispose: () => player.dispose() };
}

export function formatClock(seconds: number): string {
  const s = Math.floor(seconds);
  const hours = Math.floor(s / 3600);
  const minutes = Math.floor((s % 3600) / 60);
  const secs = s % 60;
  const mm = String(minutes).padStart(2, '0');
  const ss = String(secs).padStart(2, '0');
  return hours ? `${hours}:${mm}:${ss}` : `${mm}:${ss}`;
}
